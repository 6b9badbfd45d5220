"""Owns the `ridepledge` command line: a Flask CLI group, one module per area of commands.

- `serve`: the processes a host runs (`run`, `serve`, `worker`);
- `database`: `db upgrade`, `db revision`;
- `partners`, `operators`, `clients`, `admins`, `fans`: the records the service's staff manage;
- `maintenance`: `settle`, `housekeeping` (what the worker's sweeps do, once, now);
- `demo`: `ridepledge demo` and `ridepledge demo credentials`.
"""

from __future__ import annotations

from flask.cli import FlaskGroup, routes_command, shell_command

from widget_server.cli import (
    admins,
    clients,
    database,
    demo,
    fans,
    maintenance,
    operators,
    partners,
    serve,
)


def _create_app(*_args, **_kwargs):
    from widget_server import create_app
    from widget_server.config import Settings
    from widget_server.observability.logs import configure_logging

    settings = Settings.from_env()
    configure_logging(settings.log_format, settings.log_level)
    return create_app(settings)


cli = FlaskGroup(
    create_app=_create_app,
    add_default_commands=False,
    load_dotenv=False,
    help="RidePledge widget server.",
)
cli.add_command(shell_command)
cli.add_command(routes_command)
for command in (
    serve.run_command,
    serve.serve_command,
    serve.worker_command,
    database.db_group,
    partners.partners_group,
    clients.clients_group,
    admins.admins_group,
    operators.operators_group,
    fans.fans_group,
    maintenance.settle_command,
    maintenance.housekeeping_command,
    demo.demo_group,
):
    cli.add_command(command)
