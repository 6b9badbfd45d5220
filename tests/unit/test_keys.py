"""One key per purpose, and the idempotency windows fit the Stripe client's retries."""

from cryptography.fernet import Fernet

from widget_server import idempotency
from widget_server.domain.pledges import claims
from widget_server.keys import PURPOSES, derive_key
from widget_server.payments import LONGEST_CALL
from widget_server.payments.stripe import DEFAULT_TIMEOUT, longest_call
from widget_server.webhooks.secrets import SecretUnreadable, decrypt_secret, encrypt_secret


def test_each_purpose_has_its_own_key():
    keys = {derive_key("secret", purpose) for purpose in PURPOSES}
    assert len(keys) == len(PURPOSES)
    assert derive_key("secret", "webhook-secrets") != derive_key("other", "webhook-secrets")


def test_a_response_encrypted_for_one_purpose_does_not_decrypt_for_another():
    stored = encrypt_secret("secret", "body", purpose="idempotent-responses")
    assert decrypt_secret("secret", stored, purpose="idempotent-responses") == "body"
    try:
        decrypt_secret("secret", stored)  # the webhook secrets' key
    except SecretUnreadable:
        pass
    else:
        raise AssertionError("one key served two purposes")


def test_webhook_secrets_stored_before_keys_per_purpose_still_decrypt():
    import base64

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    # How secrets.py derived its key before widget_server/keys.py existed.
    old = HKDF(hashes.SHA256(), 32, None, b"ridepledge webhook endpoint secrets v1").derive(b"s")
    token = Fernet(base64.urlsafe_b64encode(old)).encrypt(b"whsec_x").decode()
    assert decrypt_secret("s", token) == "whsec_x"


def test_windows_outlast_the_longest_stripe_call():
    assert longest_call(DEFAULT_TIMEOUT) <= LONGEST_CALL
    assert idempotency.ABANDONED_AFTER > LONGEST_CALL
    assert claims.LEASE > LONGEST_CALL
