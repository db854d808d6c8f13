"""Serve a Tornado application on 127.0.0.1 for the length of a test."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator
from typing import Optional

from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port
from tornado.web import Application


@contextlib.asynccontextmanager
async def serve(app: Application, ssl_options: Optional[ssl.SSLContext] = None) -> AsyncIterator[str]:
    """Run ``app`` on a free port; yields its origin (``http(s)://127.0.0.1:<port>``)."""
    server = HTTPServer(app, ssl_options=ssl_options)
    sock, port = bind_unused_port()
    server.add_sockets([sock])
    try:
        yield f"{'https' if ssl_options else 'http'}://127.0.0.1:{port}"
    finally:
        server.stop()
        await server.close_all_connections()
