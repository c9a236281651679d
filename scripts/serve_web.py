"""Serves the demo page (web/) on loopback, with /config.js telling the widget
where the Rasa server is (RASA_URL, default http://localhost:5005).

Usage: python scripts/serve_web.py [PORT]
"""

import functools
import json
import os
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

WEB_ROOT = Path(__file__).resolve().parent.parent / "web"


class Handler(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path.split("?")[0] != "/config.js":
            super().do_GET()
            return
        settings = {"server": os.environ.get("RASA_URL", "http://localhost:5005")}
        body = f"window.MICRONEEDLING_CHAT = {json.dumps(settings)};\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/javascript; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # the page's requests are not worth a line each


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    handler = functools.partial(Handler, directory=str(WEB_ROOT))
    ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()
