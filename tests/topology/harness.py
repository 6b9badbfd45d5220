"""The production topology on one machine: hosts as network namespaces joined by veth pairs.

    with Topology() as topo:            # root only (network namespaces)
        topo.proxy_url                  # http://10.a.b.6:8080: the fans' way in
        topo.kill("app1")               # SIGKILL every process of that host

Hosts (each its own namespace, one veth pair into a bridge on a private /24 made for the run):

| host | address | runs |
|---|---|---|
| root namespace | .1 | the fans (load generator), the fake Stripe, the seeding and checks |
| db | .2 | its own PostgreSQL (initdb into a temp folder) and Redis |
| app1, app2 | .3, .4 | `ridepledge serve` (gunicorn, TRUSTED_PROXIES=1) |
| worker | .5 | `ridepledge worker` |
| proxy | .6 | nginx with `ridepledge proxy-config --upstream app1 --upstream app2` |

PostgreSQL, Redis and Stripe are reached over the veth, never loopback. The fans' addresses:
the load generator sits in front of nginx as a trusted front would (a CDN or a load balancer),
sending each fan's address in `X-Forwarded-For`; nginx believes it from the root namespace's
address only (`proxy-config --real-ip-from`), so its per-address limits and the app see each
fan's own address.
(wrk cannot bind one source address per connection; this is how a CDN reaches nginx anyway.)

Everything is torn down on exit, on an exception or Ctrl-C: processes killed, namespaces and
the bridge deleted. Names carry the run's pid (`rp<pid>...`), so a run killed with SIGKILL is
cleaned up by the next one.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager, suppress
from pathlib import Path

import requests

from tests.fakes.stripe_server import FakeStripe

REPO = Path(__file__).resolve().parents[2]
# Debian's PostgreSQL binaries, the newest installed version.
PG_BIN = max(
    Path("/usr/lib/postgresql").glob("*/bin"),
    key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    default=Path("/usr/lib/postgresql/15/bin"),
)
NGINX = Path("/usr/sbin/nginx")
HOSTS = {"db": 2, "app1": 3, "app2": 4, "worker": 5, "proxy": 6}
APP_PORT, PROXY_PORT = 8000, 8080
PREFIX = "rp"
SECRET_KEY = "topology-secret"
METRICS_TOKEN = "topology-metrics-token"
# What the bench serves from a file beside the app's answers: "the same proxy, static bytes".
STATIC_LOCATION = "/topology-static/"


def available() -> str | None:
    """None when this machine can run the topology, else why not."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "redis-server", "runuser"):
        if not shutil.which(tool):
            return f"{tool} is not installed"
    for binary in (PG_BIN / "postgres", PG_BIN / "initdb", NGINX):
        if not binary.exists():
            return f"{binary} is not installed"
    probe = f"{PREFIX}{os.getpid()}probe"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True)
    if made.returncode != 0:
        return "cannot make a network namespace: " + made.stderr.decode().strip()
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def ip(*args: str) -> str:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=True).stdout


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale() -> None:
    """Remove namespaces and bridges left by runs that were killed outright."""
    for line in ip("netns", "list").splitlines():
        match = re.match(rf"({PREFIX}(\d+)-\w+)", line)
        if match and not _alive(int(match.group(2))):
            _kill_namespace(match.group(1))
    for match in re.finditer(rf"\d+: ({PREFIX}(\d+)br)[:@]", ip("-o", "link", "show")):
        if not _alive(int(match.group(2))):
            subprocess.run(["ip", "link", "del", match.group(1)], capture_output=True)


def _namespace_pids(namespace: str) -> list[int]:
    done = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True)
    return [int(pid) for pid in done.stdout.split()]


def _kill_processes(namespace: str) -> None:
    for pid in _namespace_pids(namespace):
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _kill_namespace(namespace: str) -> None:
    _kill_processes(namespace)
    subprocess.run(["ip", "netns", "del", namespace], capture_output=True)


def _free_subnet() -> str:
    used = ip("-4", "-o", "addr", "show")
    for _ in range(100):
        prefix = f"10.{random.randint(100, 250)}.{random.randint(0, 255)}"  # noqa: S311
        if f" {prefix}." not in used:
            return prefix
    raise RuntimeError("no free 10.x.y.0/24 subnet")


class Topology:
    """The hosts, their processes and their teardown (see the module's docstring)."""

    def __init__(
        self,
        *,
        web_concurrency: int = 2,
        web_threads: int = 8,
        worker_threads: int = 8,
        app_env: dict | None = None,
        durable: bool = True,
    ) -> None:
        # Its own folder under /tmp: PostgreSQL and nginx's workers run as other users, who
        # cannot reach into pytest's (0700) temporary folders.
        self.folder = Path(tempfile.mkdtemp(prefix="ridepledge-topology-"))
        self.folder.chmod(0o755)
        self.web = {"WEB_CONCURRENCY": web_concurrency, "WEB_THREADS": web_threads}
        self.worker_threads = worker_threads
        self.app_env = app_env or {}
        self.durable = durable  # False: PostgreSQL without fsync (the short test)
        self.run = f"{PREFIX}{os.getpid()}"
        self.bridge = f"{self.run}br"
        self.prefix = ""
        self.children: list[subprocess.Popen] = []
        self.stripe: FakeStripe | None = None
        self.made: list[str] = []

    # Addresses ---------------------------------------------------------------------------

    def address(self, host: str) -> str:
        return f"{self.prefix}.{HOSTS[host]}"

    @property
    def front(self) -> str:
        """The root namespace's address: the load generator, the fake Stripe."""
        return f"{self.prefix}.1"

    @property
    def proxy_url(self) -> str:
        return f"http://{self.address('proxy')}:{PROXY_PORT}"

    def app_url(self, host: str) -> str:
        return f"http://{self.address(host)}:{APP_PORT}"

    @property
    def database_url(self) -> str:
        return f"postgresql+psycopg://ridepledge@{self.address('db')}:5432/ridepledge"

    @property
    def redis_url(self) -> str:
        return f"redis://{self.address('db')}:6379/0"

    def namespace(self, host: str) -> str:
        return f"{self.run}-{host}"

    # Lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Topology:
        clean_stale()
        try:
            self._network()
            self._database()
            self.stripe = FakeStripe(host=self.front).start()
            self._migrate()
            for host in ("app1", "app2"):
                self._serve(host)  # both start at once; waited for below
            self.start(
                "worker",
                self.ridepledge("worker", "--workers", str(self.worker_threads)),
                self.env("worker"),
            )
            for host in ("app1", "app2"):
                self._wait_served(host)
            self._proxy()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Kill everything (nothing here outlives the run), delete the namespaces and bridge."""
        for namespace in self.made:
            _kill_namespace(namespace)
        for child in self.children:
            if child.poll() is None:
                child.kill()
                child.wait()
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
        if self.stripe is not None:
            self.stripe.stop()
        self.made, self.children = [], []
        shutil.rmtree(self.folder, ignore_errors=True)

    @contextmanager
    def app(self):
        """The app in this process (the root namespace), on the db host's PostgreSQL over the
        bridge: for seeding and checking."""
        from widget_server import create_app
        from widget_server.config import Settings

        app = create_app(Settings.from_env(self.env("root", PUBLIC_CACHE_MS=0)))
        try:
            yield app
        finally:
            app.extensions["ridepledge.engine"].dispose()

    def kill(self, host: str) -> None:
        """The host dies: SIGKILL every process in its namespace (its network stays up, so
        connections to it are refused at once, as a host whose server crashed)."""
        _kill_processes(self.namespace(host))

    # The network -------------------------------------------------------------------------

    def _network(self) -> None:
        self.prefix = _free_subnet()
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.front}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for host in HOSTS:
            namespace = self.namespace(host)
            ip("netns", "add", namespace)
            self.made.append(namespace)
            outside, inside = f"{self.run}{host}", f"{self.run}{host}i"
            ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            ip("link", "set", inside, "netns", namespace)
            ip("link", "set", outside, "master", self.bridge, "up")
            ip("-n", namespace, "addr", "add", f"{self.address(host)}/24", "dev", inside)
            ip("-n", namespace, "link", "set", inside, "up")
            ip("-n", namespace, "link", "set", "lo", "up")

    # Processes ---------------------------------------------------------------------------

    def start(self, host: str, command: list[str], env: dict | None = None) -> subprocess.Popen:
        log = (self.folder / f"{host}.log").open("ab")
        child = subprocess.Popen(
            ["ip", "netns", "exec", self.namespace(host), *command],
            env=env or dict(os.environ),
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.children.append(child)
        return child

    def log(self, host: str) -> str:
        path = self.folder / f"{host}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def wait_for(self, what: str, ready, host: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with suppress(Exception):  # not up yet, whatever the client says
                if ready():
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{what} did not come up; its log:\n{self.log(host)}")

    @staticmethod
    def ridepledge(*args: str) -> list[str]:
        return [sys.executable, "-m", "widget_server.cli", *args]

    def env(self, host: str, **extra) -> dict:
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "INSTANCE_PATH": str(self.folder / f"instance-{host}"),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "SECRET_KEY": SECRET_KEY,
            "METRICS_TOKEN": METRICS_TOKEN,
            "PUBLIC_BASE_URL": self.proxy_url,
            "TRUSTED_PROXIES": "1",
            "LOG_LEVEL": "WARNING",
            "PAYMENTS_PROVIDER": "stripe",
            "STRIPE_SECRET_KEY": self.stripe.api_key,
            "STRIPE_PUBLISHABLE_KEY": "pk_test_topology",
            "STRIPE_WEBHOOK_SECRET": "whsec_topology",
            "STRIPE_API_BASE": self.stripe.url,
            # The fake Stripe has no rate limit here; pacing is measured in bench/settle_trip.py.
            "STRIPE_MAX_REQUESTS_PER_SECOND": "0",
            **{key: str(value) for key, value in self.app_env.items()},
        }
        env.update({key: str(value) for key, value in extra.items()})
        return env

    def _database(self) -> None:
        data = self.folder / "pg"
        data.mkdir()
        shutil.chown(data, "postgres", "postgres")
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"), "-D", str(data)]
            + ["-U", "ridepledge", "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True,
            capture_output=True,
        )
        with (data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {self.prefix}.0/24 trust\n")
        settings = [
            f"listen_addresses={self.address('db')}",
            f"unix_socket_directories={data}",
            "max_connections=300",
            "shared_buffers=128MB",
        ]
        if not self.durable:
            settings += ["fsync=off", "synchronous_commit=off", "full_page_writes=off"]
        postgres = ["runuser", "-u", "postgres", "--", str(PG_BIN / "postgres"), "-D", str(data)]
        self.start("db", postgres + [arg for s in settings for arg in ("-c", s)])
        self.start(
            "db",
            ["redis-server", "--bind", self.address("db"), "--port", "6379", "--save", ""]
            + ["--appendonly", "no", "--protected-mode", "no", "--dir", str(self.folder)],
        )
        import psycopg
        import redis

        plain = self.database_url.replace("postgresql+psycopg", "postgresql").rsplit("/", 1)[0]
        self.wait_for("PostgreSQL", lambda: psycopg.connect(plain + "/postgres").close() or 1, "db")
        with psycopg.connect(plain + "/postgres", autocommit=True) as connection:
            connection.execute("CREATE DATABASE ridepledge")
        self.wait_for("Redis", lambda: redis.Redis.from_url(self.redis_url).ping(), "db")

    def _migrate(self) -> None:
        subprocess.run(
            self.ridepledge("db", "upgrade"), env=self.env("app1"), cwd=REPO, check=True,
            capture_output=True,
        )  # fmt: skip

    def _serve(self, host: str) -> None:
        command = self.ridepledge("serve", "--host", self.address(host), "--port", str(APP_PORT))
        self.start(host, command, self.env(host, **self.web))

    def _wait_served(self, host: str) -> None:
        self.wait_for(
            f"{host} (ridepledge serve)",
            lambda: requests.get(self.app_url(host) + "/readyz", timeout=2).status_code == 200,
            host,
        )

    def proxy_config(self) -> str:
        """`ridepledge proxy-config` for the two app hosts behind the trusted front (the load
        generator's address), plus a static file location for the benchmarks' yardstick."""
        config = subprocess.run(
            self.ridepledge("proxy-config", "--listen", str(PROXY_PORT))
            + ["--upstream", f"{self.address('app1')}:{APP_PORT}"]
            + ["--upstream", f"{self.address('app2')}:{APP_PORT}"]
            + ["--real-ip-from", self.front],
            env=self.env("proxy"),
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        static = (
            f"        location {STATIC_LOCATION} {{\n"
            f"            alias {self.folder / 'static'}/;\n"
            "            default_type application/json;\n        }\n"
        )
        return re.sub(r"(\bserver\s*\{\n)", lambda m: m.group(1) + static, config, count=1)

    def _proxy(self) -> None:
        root = self.folder / "nginx"
        root.mkdir()
        (self.folder / "static").mkdir()
        conf = root / "nginx.conf"
        conf.write_text(self.proxy_config())
        command = [str(NGINX), "-p", str(root), "-c", str(conf)]
        if "daemon off" not in conf.read_text():
            command += ["-g", "daemon off;"]
        self.start("proxy", command)
        self.wait_for(
            "nginx",
            lambda: requests.get(self.proxy_url + "/readyz", timeout=2).status_code == 200,
            "proxy",
        )

    def origin_requests(self, method: str, route: str) -> int:
        """Requests the app hosts answered for `route` (a Flask rule), from their /metrics."""
        total = 0
        for host in ("app1", "app2"):
            try:
                text = requests.get(
                    self.app_url(host) + "/metrics",
                    headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
                    timeout=5,
                ).text
            except requests.RequestException:
                continue  # a host killed by the run
            labels = (f'method="{method}"', f'route="{route}"')
            for line in text.splitlines():
                if line.startswith("ridepledge_http_request_duration_seconds_count{") and all(
                    label in line for label in labels
                ):
                    total += int(float(line.rsplit(" ", 1)[1]))
        return total

    def static_file(self, name: str, content: bytes) -> str:
        """Put `content` where the proxy serves it as a file; returns its URL."""
        (self.folder / "static" / name).write_bytes(content)
        return f"{self.proxy_url}{STATIC_LOCATION}{name}"
