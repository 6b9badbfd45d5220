"""`ridepledge proxy-config`: the nginx configuration of the edge proxy (`edge_proxy`)."""

from __future__ import annotations

import click


@click.command("proxy-config")
@click.option("--listen", type=int, required=True, help="Port the proxy listens on.")
@click.option(
    "--upstream",
    "upstreams",
    multiple=True,
    required=True,
    help="An app host's HOST:PORT (`ridepledge serve`); repeat for each.",
)
@click.option(
    "--real-ip-from",
    multiple=True,
    help="Address or network of a load balancer or CDN in front of the proxy, whose "
    "X-Forwarded-For is believed; repeat for each. Default: none, the proxy is the first hop.",
)
@click.option("--workers", default="auto", show_default=True, help="nginx worker processes.")
@click.option(
    "--user",
    default=None,
    help="Account the workers run as when nginx is started as root (say www-data; they need "
    "the prefix). Started by another user, nginx stays that user: leave it out.",
)
def proxy_config_command(
    listen: int,
    upstreams: tuple[str, ...],
    real_ip_from: tuple[str, ...],
    workers: str,
    user: str | None,
) -> None:
    """Print the nginx configuration of the edge proxy (run it with `nginx -p DIR -c FILE`)."""
    from widget_server.edge_proxy import nginx_config

    if workers != "auto" and not (workers.isdigit() and int(workers) > 0):
        raise click.BadParameter("a number of processes, or auto", param_hint="--workers")
    try:
        config = nginx_config(
            listen, list(upstreams), real_ip_from=real_ip_from, workers=workers, user=user
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(config)
