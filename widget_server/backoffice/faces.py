"""What tells the console and the operator portal apart."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import LazyString


@dataclass(frozen=True)
class Face:
    """One back office: its blueprint's name (also its URL prefix and template folder),
    whose people sign in there (`operator`: an operator's, else a partner's), the `g`
    attribute holding the signed-in person's tenant, the endpoints reachable signed out, and
    its words on the shared pages."""

    name: str
    operator: bool
    tenant_attr: str
    public_endpoints: frozenset[str]
    sign_in_title: LazyString
    back_home: LazyString

    @property
    def prefix(self) -> str:
        return f"/{self.name}"

    def endpoint(self, view: str) -> str:
        return f"{self.name}.{view}"

    def opens(self, admin) -> bool:
        """Whether `admin`'s account belongs on this face (a partner's person on the console,
        an operator's on the portal): the other side's session opens nothing here."""
        return (admin.operator_id is not None) == self.operator


# The sign-in pages and password links: reachable signed out on every face.
SIGN_IN_VIEWS = (
    "login",
    "login_code",
    "logout",
    "forgot_password",
    "set_password",
    "password_form",
    "static",
)


def public_endpoints(name: str) -> frozenset[str]:
    return frozenset(f"{name}.{view}" for view in SIGN_IN_VIEWS)
