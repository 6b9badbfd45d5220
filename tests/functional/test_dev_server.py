"""The development and test server (Werkzeug with `DevRequestHandler`)."""

from __future__ import annotations

import gc
import socket
import struct
import sys
import time


def test_a_client_hanging_up_mid_response_leaves_no_file_open(live_server, monkeypatch):
    # A page navigating away while a script downloads resets the connection; Werkzeug then
    # skipped closing the response body, and the open static file surfaced later as an
    # unraisable ResourceWarning in whichever test ran next (a red CI run of 2026-12-02).
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    host, port = live_server.url.removeprefix("http://").split(":")
    for _ in range(30):
        client = socket.create_connection((host, int(port)))
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.sendall(b"GET /admin/static/console.js HTTP/1.1\r\nHost: localhost\r\n\r\n")
        time.sleep(0.005)
        client.close()  # with a zero linger: a reset, not a clean close
    time.sleep(0.5)
    gc.collect()
    assert [u.exc_value for u in unraisable] == []
