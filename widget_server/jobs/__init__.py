"""Owns running work after commit: the job queue (huey) and its thin tasks that take ids.

SQLite storage under the instance folder by default, Redis when REDIS_URL is set. Tasks take
ids, run in their own app context and are safe to run twice."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from huey import Huey, RedisHuey, SqliteHuey, crontab

from widget_server.jobs import lookups, tasks

# name -> (function, retries, retry delay in seconds)
TASKS = {
    "charge_trip": (tasks.charge_trip, 3, 30),
    "charge_pledge": (tasks.charge_pledge, 5, 20),
    "refund_pledge": (tasks.refund_pledge, 5, 20),
    "pay_operator": (tasks.pay_operator, 5, 20),
    "send_email": (tasks.send_email, 5, 60),
    "refresh_waitlist": (tasks.refresh_waitlist, 3, 30),
    # Lookups a request must not make itself (who has an account or a pledge): jobs/lookups.py.
    "send_manage_links": (lookups.send_manage_links, 3, 30),
    "send_password_reset": (lookups.send_password_reset, 3, 30),
    "invite_admin": (lookups.invite_admin, 3, 30),
    # Webhook deliveries keep their own retry schedule in the database (widget_server/webhooks).
    "deliver_webhook": (tasks.deliver_webhook, 0, 0),
}
SWEEP_SCHEDULE = crontab(minute="*")


def make_huey(app: Flask) -> Huey:
    settings = app.config["SETTINGS"]
    immediate = bool(app.config.get("JOBS_IMMEDIATE"))
    if settings.redis_url and not immediate:
        return RedisHuey("ridepledge", url=settings.redis_url, utc=True, results=False)
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(
        "ridepledge",
        filename=str(settings.instance_path / "queue.sqlite3"),
        immediate=immediate,
        utc=True,
        results=False,
    )


def init_app(app: Flask) -> None:
    """Create the app's queue, register the tasks bound to this app, expose `enqueue`."""
    huey = make_huey(app)
    registered = {}
    for name, (function, retries, delay) in TASKS.items():
        registered[name] = huey.task(retries=retries, retry_delay=delay, name=name)(
            _in_app_context(app, function)
        )
    # Every consumer schedules this; a lease in the database lets one run per minute win.
    huey.periodic_task(SWEEP_SCHEDULE, name="sweep")(_in_app_context(app, tasks.minute_tick))

    def enqueue(name: str, *args) -> None:
        registered[name](*args)

    def enqueue_at(name: str, eta: datetime, *args) -> None:
        """Run the task at `eta` (an aware datetime) rather than now."""
        registered[name].schedule(args=args, eta=eta)

    app.extensions["ridepledge.huey"] = huey
    app.extensions["ridepledge.enqueue"] = enqueue
    app.extensions["ridepledge.enqueue_at"] = enqueue_at


def _in_app_context(app: Flask, function):
    def run(*args):
        with app.app_context():
            return function(*args)

    run.__name__ = function.__name__
    run.__doc__ = function.__doc__
    return run
