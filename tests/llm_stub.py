"""A small OpenAI-compatible chat-completions server on 127.0.0.1 for tests.

The reply depends on the mode set on the server: `good` streams an answer with valid
markers, `bad_marker` cites a passage that was not given, `fail` answers HTTP 500,
`slow` stalls longer than the client waits, `plain` answers without streaming.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GOOD = ["- 严把党员入口关，", "把骨干教师培养成党员[1", "]。\n", "- 建立师德师风承诺制[2]。"]
BAD = ["- 严把党员入口关[1]。\n", "- 这一条引用了不存在的段落[9]。"]


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def do_POST(self):  # noqa: N802 - the http.server API
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        self.server.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        mode = self.server.mode
        if mode == "fail":
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b'{"error": "boom"}')
            return
        if mode == "plain":
            reply = {"choices": [{"message": {"role": "assistant", "content": "".join(GOOD)}}]}
            data = json.dumps(reply, ensure_ascii=False).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        pieces = BAD if mode == "bad_marker" else GOOD
        for piece in pieces:
            if mode == "slow":
                time.sleep(3)
            event = {"choices": [{"index": 0, "delta": {"content": piece}}]}
            self.wfile.write(f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """A client that hangs up mid-stream (the timeout tests do) is expected: printing its
        traceback would land in whichever test's captured stderr runs at that moment."""
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class StubLLM:
    def __init__(self):
        self.server = _QuietServer(("127.0.0.1", 0), _Handler)
        self.server.mode = "good"
        self.server.requests = []
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    @property
    def requests(self) -> list[dict]:
        return self.server.requests

    def set_mode(self, mode: str) -> None:
        self.server.mode = mode

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
