"""A webhook endpoint on 127.0.0.1, on a free port, for tests and benchmarks: it hands each POST (headers with
lower-case names, and the raw body) to a function that says the status to answer, and stops itself."""

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = Callable[[Mapping[str, str], bytes], int]


def accept(_headers: Mapping[str, str], _body: bytes) -> int:
    return 204


@contextmanager
def webhook_receiver(answer: Answer = accept, path: str = "/hook") -> Iterator[str]:
    """Yields the endpoint's URL; `answer` is called for each delivery, from the server's threads."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = answer({name.lower(): value for name, value in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}{path}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
