"""A local HTTP server standing in for Sentry's host: it receives the SDK's real envelopes
(over its HTTP transport) and hands back the events in them."""

from __future__ import annotations

import gzip
import json
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class SentryStandIn(BaseHTTPRequestHandler):
    received: list[tuple[str, bytes]]

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding == "br":  # pragma: no cover - only with brotli installed
            import brotli

            body = brotli.decompress(body)
        self.server.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def start_server() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SentryStandIn)
    server.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def dsn(server: ThreadingHTTPServer) -> str:
    return f"http://publickey@127.0.0.1:{server.server_port}/42"


def stop_server(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()


def events(server) -> list[dict]:
    found = []
    for path, body in server.received:
        assert path == "/api/42/envelope/"
        lines = body.split(b"\n")
        index = 1
        while index < len(lines):
            header = json.loads(lines[index]) if lines[index].strip() else {}
            payload = lines[index + 1] if index + 1 < len(lines) else b""
            if header.get("type") == "event":
                found.append(json.loads(payload))
            index += 2
    return found
