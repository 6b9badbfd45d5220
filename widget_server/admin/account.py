"""The signed-in admin's own account: password, sessions, sign out everywhere, the console's
language. The pages are the back offices' shared ones (backoffice/account.py)."""

from __future__ import annotations

from widget_server.admin import CONSOLE, bp
from widget_server.admin.auth import requires
from widget_server.backoffice import account

account.register(bp, CONSOLE, requires)
