"""A partner's web site for the browser tests: a tiny HTTP server on its own port, so its pages
are a different origin from the widget's (http://localhost:<port> vs http://127.0.0.1:<port>).

    with HostSite() as site:
        site.pages["/"] = "<html>...</html>"
        page.goto(site.url + "/")

The same server reached as http://127.0.0.1:<port> is yet another origin: one the partner does
not allow, for the tests where the browser must refuse to show the widget.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["HostSite", "host_page"]


class HostSite:
    def __init__(self):
        self.pages: dict[str, str] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                body = site.pages.get(self.path.split("?", 1)[0])
                if body is None:
                    self.send_error(404)
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_port
        self.origin = f"http://localhost:{self.port}"
        self.other_origin = f"http://127.0.0.1:{self.port}"
        self.url = self.origin
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> HostSite:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def host_page(widget_base: str, body: str, *, lang: str = "en", head: str = "") -> str:
    """A partner page: `body`, the loader, and a recorder of every widget event it hears
    (`window.heard`, as handlers, and `window.heardDom`, as `ridepledge:*` DOM events)."""
    return f"""<!doctype html>
<html lang="{lang}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Partner site</title>
<style>body {{ margin: 0; font-family: sans-serif; }} main {{ padding: 0; }}</style>
{head}
<script>
  window.heard = []; window.heardDom = [];
  window.RidePledge = window.RidePledge || function () {{
    (window.RidePledge.q = window.RidePledge.q || []).push(arguments); }};
  window.recorder = function (name) {{
    return function (detail, element) {{ window.heard.push({{name: name, detail: detail,
      container: element && element.id}}); }};
  }};
  ['ready', 'trip.viewed', 'trip.progress', 'pledge.created', 'pledge.canceled',
   'demand.requested', 'error']
    .forEach(function (name) {{
      var fn = window.recorder(name); window['on_' + name] = fn; RidePledge('on', name, fn);
      document.addEventListener('ridepledge:' + name, function (e) {{
        window.heardDom.push({{name: name, detail: e.detail, container: e.target.id}}); }});
    }});
</script>
</head>
<body><main><h1>Partner site</h1>
{body}
</main>
<script async src="{widget_base}/embed.js"></script>
</body></html>"""
