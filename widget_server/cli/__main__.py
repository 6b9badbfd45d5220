"""`python -m widget_server.cli`: the `ridepledge` command (the demo starts its processes so)."""

from widget_server.cli import cli

cli()
