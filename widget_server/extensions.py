"""Unbound extension objects, bound to an app in create_app()."""

from flask_babel import Babel

from widget_server.db import Database

db = Database()
babel = Babel()
