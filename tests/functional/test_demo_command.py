"""`ridepledge demo` (what `make demo` runs) prepares everything and serves the landing page."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_demo_serves_landing_page_health_and_seeded_trips(tmp_path):
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PUBLIC_BASE_URL"}
    }
    env.update({"INSTANCE_PATH": str(tmp_path / "instance"), "PORT": str(port)})
    command = [sys.executable, "-m", "widget_server.cli", "demo"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(base + "/healthz", timeout=5).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.2)
        else:
            raise AssertionError("the demo server did not come up within 60 s")
        page = requests.get(base + "/", timeout=5).text
        assert "Demo City FC" in page and "Zaragoza: confirmed, 27 of 45" in page
        assert "Springfield: open, 23 of 40 seats" in page
        assert (tmp_path / "instance" / "ridepledge.db").exists()
        # The demo partner sites embed the widget from http://localhost:<PORT>, whatever PORT.
        widget = requests.get(base + "/w/demo/", timeout=5)
        frame_ancestors = widget.headers["Content-Security-Policy"].split("frame-ancestors")[1]
        assert f"http://localhost:{port}" in frame_ancestors.split(";")[0]
        assert "<title>Rides to the game · Demo City FC</title>" in widget.text
        assert 'rel="icon"' in widget.text
        icon = requests.get(base + "/favicon.ico", timeout=5)
        assert icon.status_code == 200 and icon.headers["Content-Type"].startswith("image/svg+xml")
        assert requests.get(base + "/readyz", timeout=5).status_code == 200
    finally:
        process.terminate()
        try:
            # gunicorn and the worker both stop gracefully (an idle worker thread may sleep up
            # to huey's 10 s polling interval before it sees the stop).
            output, _ = process.communicate(timeout=45)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            raise AssertionError("the demo did not stop on SIGTERM") from None
    assert f"RidePledge demo running at {base}/" in output
    assert "demo: created" in output
    # The production server (gunicorn), not werkzeug's development server.
    assert "development server" not in output
    assert "gunicorn" in output.lower()
