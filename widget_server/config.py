"""Configuration: the only module that reads environment variables."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

PAYMENT_PROVIDERS = ("simulated", "stripe")
DEMO_MODE_VARIABLE = "RIDEPLEDGE_DEMO"


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass
class Settings:
    """Everything the service can be configured with, read from the environment once."""

    instance_path: Path
    database_url: str
    redis_url: str | None
    secret_key: str
    public_base_url: str
    payments_provider: str
    stripe_secret_key: str | None
    stripe_publishable_key: str | None
    stripe_webhook_secret: str | None
    stripe_api_base: str | None
    smtp_url: str | None
    webhooks_allow_loopback: bool
    port: int
    # The landing page lists the demo partners' games and trips only in the demo (`ridepledge
    # demo` turns it on; RIDEPLEDGE_DEMO=1 carries it to the processes the demo starts).
    demo_mode: bool = False
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        instance_path = Path(env.get("INSTANCE_PATH") or "instance").resolve()
        port = int(env.get("PORT") or 8000)
        provider = (env.get("PAYMENTS_PROVIDER") or "simulated").strip().lower()
        if provider not in PAYMENT_PROVIDERS:
            raise ValueError(
                f"PAYMENTS_PROVIDER must be one of {', '.join(PAYMENT_PROVIDERS)}, not {provider!r}"
            )
        return cls(
            instance_path=instance_path,
            database_url=env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'ridepledge.db'}",
            redis_url=env.get("REDIS_URL") or None,
            secret_key=env.get("SECRET_KEY") or _instance_secret(instance_path),
            public_base_url=(env.get("PUBLIC_BASE_URL") or f"http://127.0.0.1:{port}").rstrip("/"),
            payments_provider=provider,
            stripe_secret_key=env.get("STRIPE_SECRET_KEY") or None,
            stripe_publishable_key=env.get("STRIPE_PUBLISHABLE_KEY") or None,
            stripe_webhook_secret=env.get("STRIPE_WEBHOOK_SECRET") or None,
            stripe_api_base=env.get("STRIPE_API_BASE") or None,
            smtp_url=env.get("SMTP_URL") or None,
            webhooks_allow_loopback=_flag(env.get("WEBHOOKS_ALLOW_LOOPBACK")),
            port=port,
            demo_mode=_flag(env.get(DEMO_MODE_VARIABLE)),
        )

    def enable_demo_mode(self) -> None:
        """Demo mode for this process and the server and worker processes it starts."""
        self.demo_mode = True
        os.environ[DEMO_MODE_VARIABLE] = "1"

    def to_flask(self) -> dict:
        """The Flask config mapping for these settings."""
        return {
            "SECRET_KEY": self.secret_key,
            "SETTINGS": self,
            "JSON_SORT_KEYS": False,
            "MAX_CONTENT_LENGTH": 1024 * 1024,
        }


def _instance_secret(instance_path: Path) -> str:
    """A per-instance secret kept in the instance folder, so a dev setup needs no SECRET_KEY.

    Production sets SECRET_KEY; this keeps signed links valid across restarts of a demo.
    """
    key_file = instance_path / "secret_key"
    try:
        return key_file.read_text().strip()
    except FileNotFoundError:
        instance_path.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        key_file.write_text(key)
        key_file.chmod(0o600)
        return key
