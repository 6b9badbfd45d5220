"""Unbound extension objects, bound to an app in create_app()."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from widget_server.db import Database

db = Database()
babel = Babel()
# Per client address; storage is memory:// or Redis (set in create_app from REDIS_URL). The
# X-RateLimit-* and Retry-After headers are written by `ratelimits` (only where they are read).
limiter = Limiter(key_func=get_remote_address, headers_enabled=False)
