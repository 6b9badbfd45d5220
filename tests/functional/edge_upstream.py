"""An app host for the edge proxy's test (`test_edge_proxy.py`), in a process of its own so the
test can kill it: the app behind one trusted proxy (`TRUSTED_PROXIES=1`), on a free loopback
port printed on the first line of stdout, which also says what the app saw of each request at
`GET /_edge_test/seen`.

    python -m tests.functional.edge_upstream DATABASE_URL INSTANCE_PATH
"""

from __future__ import annotations

import sys

from flask import jsonify, request
from werkzeug.serving import make_server

from tests.conftest import make_settings
from widget_server import create_app
from widget_server.wsgi_server import DevRequestHandler, closing_when_dropped


def edge_test_app(database_url: str, instance_path: str):
    app = create_app(make_settings(database_url, instance_path, TRUSTED_PROXIES="1"))
    seen = []

    @app.before_request
    def _remember():
        seen.append(
            {
                "method": request.method,
                "path": request.full_path.rstrip("?"),
                "client": request.remote_addr,
                "x_forwarded_for": request.headers.get("X-Forwarded-For"),
                "x_forwarded_proto": request.headers.get("X-Forwarded-Proto"),
                "idempotency_key": request.headers.get("Idempotency-Key"),
            }
        )

    @app.after_request
    def _cookie_when_asked(response):
        if request.args.get("set_cookie"):
            response.set_cookie("edge_test", "1")
        return response

    def seen_requests():
        return jsonify(seen)

    app.add_url_rule("/_edge_test/seen", "edge_test_seen", seen_requests)
    return app


def main() -> None:
    database_url, instance_path = sys.argv[1:3]
    app = edge_test_app(database_url, instance_path)
    server = make_server(
        "127.0.0.1", 0, closing_when_dropped(app), threaded=True, request_handler=DevRequestHandler
    )
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
