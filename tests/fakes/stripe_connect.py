"""The fake Stripe's Connect side: connected accounts (Express), account links (hosted
onboarding) and transfers from the platform's balance to a connected account. No HTTP here;
tests.fakes.stripe_server routes to these methods and holds the lock around every call.

A new Express account can take no transfer until its onboarding is done
(`complete_onboarding`, what the bus company does on Stripe's pages): Stripe then turns on
`payouts_enabled`, `details_submitted` and the `transfers` capability. A transfer to an account
without it fails as Stripe's does (400 `insufficient_capabilities_for_transfer`).
"""

from __future__ import annotations

from tests.fakes.stripe_wire import StripeError, list_object, new_id, now

ACCOUNT_LINK_SECONDS = 300  # Stripe's account links expire after five minutes
LINK_TYPES = ("account_onboarding", "account_update")


def _required(params: dict, *names: str) -> None:
    for name in names:
        if not params.get(name):
            raise StripeError.invalid(
                f"Missing required param: {name}.", param=name, code="parameter_missing"
            )


class ConnectState:
    """Accounts, account links and transfers; mixed into tests.fakes.stripe_state.StripeState."""

    def __init__(self) -> None:
        self.accounts: dict[str, dict] = {}
        self.account_links: list[dict] = []
        self.transfers: dict[str, dict] = {}

    # Accounts ----------------------------------------------------------------------------

    def create_account(self, params: dict) -> dict:
        kind = params.get("type")
        if kind not in (None, "express", "standard", "custom"):
            raise StripeError.invalid(f"Invalid type: {kind}", param="type")
        requested = {
            name: "inactive"
            for name, wanted in (params.get("capabilities") or {}).items()
            if isinstance(wanted, dict) and wanted.get("requested") == "true"
        }
        account = {
            "id": new_id("acct")[:21],
            "object": "account",
            "created": now(),
            "type": kind or "standard",
            "country": params.get("country") or "US",
            "email": params.get("email"),
            "business_type": params.get("business_type"),
            "business_profile": dict(params.get("business_profile") or {}),
            "capabilities": requested,
            "charges_enabled": False,
            "payouts_enabled": False,
            "details_submitted": False,
            "default_currency": "usd",
            "metadata": dict(params.get("metadata") or {}),
            "requirements": {"currently_due": ["external_account", "tos_acceptance.date"]},
        }
        self.accounts[account["id"]] = account
        return account

    def account(self, account_id: str, param: str | None = None) -> dict:
        if account_id not in self.accounts:
            raise StripeError.missing("account", account_id, param=param)
        return self.accounts[account_id]

    def complete_onboarding(self, account_id: str) -> dict:
        """What finishing Stripe's hosted onboarding does to the account."""
        account = self.account(account_id)
        account.update(
            charges_enabled="card_payments" in account["capabilities"],
            payouts_enabled=True,
            details_submitted=True,
            requirements={"currently_due": []},
        )
        account["capabilities"] = dict.fromkeys(account["capabilities"], "active")
        return account

    def create_account_link(self, params: dict) -> dict:
        _required(params, "account", "type")
        if params["type"] not in LINK_TYPES:
            raise StripeError.invalid(f"Invalid type: {params['type']}", param="type")
        account = self.account(params["account"], param="account")
        created = now()
        link = {
            "object": "account_link",
            "created": created,
            "expires_at": created + ACCOUNT_LINK_SECONDS,
            "url": f"https://connect.stripe.com/setup/e/{account['id']}/{new_id('x')[2:14]}",
        }
        where = {name: params.get(name) for name in ("type", "refresh_url", "return_url")}
        self.account_links.append({**link, "account": account["id"], **where})
        return link

    # Transfers ---------------------------------------------------------------------------

    def create_transfer(self, params: dict) -> dict:
        _required(params, "amount", "currency", "destination")
        amount = params["amount"]
        if not amount.isdigit() or int(amount) < 1:
            raise StripeError.invalid(
                f"Invalid positive integer: {amount}",
                param="amount",
                code="parameter_invalid_integer",
            )
        destination = self.account(params["destination"], param="destination")
        if destination["capabilities"].get("transfers") != "active":
            raise StripeError.invalid(
                "Your destination account needs to have at least one of the following "
                "capabilities enabled: transfers, crypto_transfers, legacy_payments",
                param="destination",
                code="insufficient_capabilities_for_transfer",
                stored=True,
            )
        transfer = {
            "id": new_id("tr"),
            "object": "transfer",
            "created": now(),
            "livemode": False,
            "amount": int(amount),
            "amount_reversed": 0,
            "currency": params["currency"].lower(),
            "description": params.get("description"),
            "destination": destination["id"],
            "destination_payment": new_id("py"),
            "balance_transaction": new_id("txn"),
            "metadata": dict(params.get("metadata") or {}),
            "reversed": False,
            "source_transaction": params.get("source_transaction"),
            "transfer_group": params.get("transfer_group"),
        }
        self.transfers[transfer["id"]] = transfer
        return transfer

    def transfer(self, transfer_id: str) -> dict:
        if transfer_id not in self.transfers:
            raise StripeError.missing("transfer", transfer_id)
        return self.transfers[transfer_id]

    def list_transfers(self, params: dict) -> dict:
        wanted = params.get("destination")
        found = [t for t in self.transfers.values() if wanted in (None, t["destination"])]
        limit = params.get("limit")
        return list_object("/v1/transfers", found, int(limit) if limit else 10)
