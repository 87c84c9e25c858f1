"""Helpers for the data tests: a loopback HTTP server and a tiny credit-card-shaped CSV."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from aescope.data import CREDITCARD_COLUMNS


class _Handler(BaseHTTPRequestHandler):
    """Serves ``server.routes[path] = (body, announced_length)``; HTTP/1.0, so it closes after."""

    def do_GET(self) -> None:
        route = self.server.routes.get(self.path)  # type: ignore[attr-defined]
        if route is None:
            self.send_error(404, "not here")
            return
        body, announced = route
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body) if announced is None else announced))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


@contextlib.contextmanager
def serve(routes: dict[str, tuple[bytes, int | None]]) -> Iterator[str]:
    """Run a server on 127.0.0.1 (ephemeral port) for the block; yield its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.routes = routes  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port_url() -> str:
    """A loopback URL where nothing listens, standing in for 'offline'."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    port = server.server_port
    server.server_close()
    return f"http://127.0.0.1:{port}/creditcard.csv"


def creditcard_csv(rows: int = 20, seed: int = 0) -> bytes:
    """A small file in the real file's exact format: quoted header and quoted Class values."""
    rng = np.random.default_rng(seed)
    lines = [",".join(f'"{name}"' for name in CREDITCARD_COLUMNS)]
    for i in range(rows):
        values = [str(i * 7)]
        values += [repr(float(v)) for v in rng.normal(size=28)]
        values.append(f"{rng.uniform(0, 500):.2f}")
        values.append(f'"{int(i % 5 == 0)}"')
        lines.append(",".join(values))
    return ("\n".join(lines) + "\n").encode()
