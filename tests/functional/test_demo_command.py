"""`ridepledge demo` (what `make demo` runs) prepares everything, serves the product, prints
where everything is and the sign-ins last (the logs go to a file), and the quickstarts of the
README and docs/ run as written against it, on another port than the default."""

import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
LAST_LINE = "Ctrl-C stops the demo."


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _environment(instance: Path, port: int) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PUBLIC_BASE_URL", "LOG_FORMAT"}
    }
    env.update({"INSTANCE_PATH": str(instance), "PORT": str(port)})
    return env


def _ridepledge(tmp_path: Path, env: dict) -> Path:
    """A folder where `.venv/bin/ridepledge` is this interpreter's `ridepledge`, as in a
    checkout after `make demo`: the quickstarts call it by that path."""
    folder = tmp_path / "checkout"
    command = folder / ".venv" / "bin" / "ridepledge"
    command.parent.mkdir(parents=True)
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m widget_server.cli "$@"\n')
    command.chmod(0o755)
    (folder / ".venv" / "bin" / "python").symlink_to(sys.executable)
    return folder


def _code_block(path: Path, after: str, language: str) -> str:
    text = path.read_text()
    start = text.index(f"```{language}\n", text.index(after)) + len(language) + 4
    return text[start : text.index("```", start)]


def _read_lines(stream, lines: list[str]) -> None:
    for line in stream:
        lines.append(line.rstrip("\n"))


def test_demo_prints_sign_ins_last_and_the_quickstarts_run_against_it(tmp_path):
    port = _free_port()
    instance = tmp_path / "instance"
    env = _environment(instance, port)
    process = subprocess.Popen(
        [sys.executable, "-m", "widget_server.cli", "demo"],
        cwd=ROOT,
        env={**env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while LAST_LINE not in lines:
            assert process.poll() is None, "\n".join(lines)
            assert time.monotonic() < deadline, "no banner within 120 s:\n" + "\n".join(lines)
            time.sleep(0.2)
        # The server answers by the time the banner is printed, which ends the output.
        assert requests.get(base + "/healthz", timeout=5).status_code == 200
        output = "\n".join(lines)
        banner = output[output.index(f"RidePledge demo running at {base}/") :]
        signed = re.search(r"demo console sign-in: (\S+) / (\S+)", banner)
        assert signed and signed.group(1) == "owner@demo.example", output
        assert "demo-away console sign-in: owner@demo-away.example / " in banner
        assert re.search(r"client_id=cli_\w+ client_secret=sk_\S+", banner)
        assert f"{base}/demo/outbox" in banner and "demo.log" in banner
        # The logs are in the file, not on the terminal.
        assert len(lines) < 40, output
        log = (instance / "demo.log").read_text()
        assert "Starting gunicorn" in log and "Starting gunicorn" not in output
        assert "development server" not in log
        assert signed.group(2) not in log

        page = requests.get(base + "/", timeout=5).text
        assert "Demo City FC" in page and "Zaragoza: confirmed, 27 of 45" in page
        driver = re.search(r'href="(/d/[^"]+)"', page)
        assert driver and requests.get(base + driver.group(1), timeout=5).status_code == 200
        assert requests.get(base + "/demo/outbox", timeout=5).status_code == 200
        # The demo partner sites embed the widget from http://localhost:<PORT>, whatever PORT.
        widget = requests.get(base + "/w/demo/", timeout=5)
        frame_ancestors = widget.headers["Content-Security-Policy"].split("frame-ancestors")[1]
        assert f"http://localhost:{port}" in frame_ancestors.split(";")[0]
        assert requests.get(base + "/readyz", timeout=5).status_code == 200

        checkout = _ridepledge(tmp_path, env)
        shown = subprocess.run(
            [checkout / ".venv/bin/ridepledge", "demo", "credentials"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert f"owner@demo.example / {signed.group(2)}" in shown

        curl = _code_block(ROOT / "docs" / "api.md", "## Quickstart with curl", "sh")
        ran = subprocess.run(
            ["bash", "-e", "-c", curl], cwd=checkout, env=env, capture_output=True, text=True
        )
        assert ran.returncode == 0, ran.stderr + ran.stdout
        assert re.search(r"^event evt_\w+$", ran.stdout, re.M) and "\nopen\n" in ran.stdout
        assert "stop,departs_at,pledge_id" in ran.stdout

        exports = subprocess.run(
            [checkout / ".venv/bin/ridepledge", "demo", "credentials", "--shell"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        sdk_env = dict(env, WATCH_SECONDS="0")
        for line in exports.splitlines():
            name, value = line.removeprefix("export ").split("=", 1)
            sdk_env[name] = value.strip("'")
        assert sdk_env["RIDEPLEDGE_BASE_URL"] == base
        for document, after in (
            (ROOT / "sdk" / "python" / "README.md", "## A complete example"),
            (ROOT / "docs" / "sdk.md", "# Python SDK"),
        ):
            example = _code_block(document, after, "python")
            ran = subprocess.run(
                [sys.executable, "-c", example],
                env=sdk_env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert ran.returncode == 0, f"{document}: {ran.stderr}"
            assert "Wichita" in ran.stdout or "open" in ran.stdout, ran.stdout
    finally:
        process.terminate()
        try:
            # gunicorn and the worker both stop gracefully (an idle worker thread may sleep up
            # to huey's 10 s polling interval before it sees the stop).
            process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            process.kill()
            raise AssertionError("the demo did not stop on SIGTERM") from None
        finally:
            process.stdout.close()

    # An admin renames the partner in the console; the next demo keeps it and says so once.
    with sqlite3.connect(instance / "ridepledge.db") as connection:
        connection.execute("UPDATE partners SET name = 'Demo City FC (ours)' WHERE slug = 'demo'")
    again = subprocess.run(
        [sys.executable, "-m", "widget_server.cli", "demo", "--no-serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "(live) ->" not in again.stdout and "differs from its file" not in again.stdout
    kept = [line for line in again.stdout.splitlines() if "kept the changes" in line]
    assert len(kept) == 1 and "demo: name" in kept[0], again.stdout
    assert f"owner@demo.example / {signed.group(2)}" in again.stdout
    with sqlite3.connect(instance / "ridepledge.db") as connection:
        (name,) = connection.execute("SELECT name FROM partners WHERE slug = 'demo'").fetchone()
    assert name == "Demo City FC (ours)"
