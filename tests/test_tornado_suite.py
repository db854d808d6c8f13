"""Tornado's own AsyncHTTPClient tests (``HTTPClientCommonTestCase``) through `TornadoClient.fetch`.

Each test's ``self.http_client.fetch`` (and so ``self.fetch``) is a `TornadoClient`'s,
over the HTTP client the test would have used, with a token from a local `AuthServer`;
the rest of the client (``close``, ``defaults``, its class) is the HTTP client's. Both
HTTP clients. The only expected failures are the documented refusals: credentials of
the request's own (``auth_username``, user info in the URL, an ``Authorization``
header) raise `ValueError`; and one chosen difference: cancelling the future
cancels the request (Tornado lets it run and logs its error).
Tornado 6.6 ships the test list counted here; older releases have other lists, so
the module runs on the newest Tornado only (.ci/tornado-matrix leaves it out).
"""

from __future__ import annotations

import logging
import unittest
from typing import Any

import pytest
import tornado
from tornado.curl_httpclient import CurlAsyncHTTPClient
from tornado.httpclient import AsyncHTTPClient
from tornado.simple_httpclient import SimpleAsyncHTTPClient

from tests.doubles import CLIENT_ID, CLIENT_SECRET, client_for
from tornado_alf import TornadoClient
from tornado_alf.testing import AuthServer

if tornado.version_info < (6, 6):
    pytest.skip("the test list below is Tornado 6.6's", allow_module_level=True)

from tornado.test import httpclient_test

#: Tests that send credentials of the request's own, which `TornadoClient.fetch` refuses with `ValueError`.
REFUSED = {
    "test_basic_auth": "auth_username is refused: the request would carry credentials of its own",
    "test_basic_auth_explicit_mode": "auth_username is refused: the request would carry credentials of its own",
    "test_basic_auth_unicode": "auth_username is refused: the request would carry credentials of its own",
    "test_credentials_in_url": "user info in the URL is refused: credentials of the request's own",
    "test_strip_headers_on_redirect": "its requests carry Authorization, auth_username or user info: refused",
    # The response's request is the one sent, its Authorization header included.
    "test_reuse_request_from_response": "response.request carries Authorization: refused when sent again",
    # Tornado lets a cancelled fetch run on and logs the 404 it gets; here cancelling stops the request.
    "test_error_after_cancel": "cancelling the future cancels the request: no error to log afterwards",
}


class _ThroughTornadoClient:
    """The test's HTTP client, its ``fetch`` replaced by a `TornadoClient`'s."""

    def __init__(self, http_client: AsyncHTTPClient, client: TornadoClient) -> None:
        self._http_client = http_client
        self.tornado_client = client

    @property  # type: ignore[misc]  # test_configure_defaults builds another client of this class
    def __class__(self) -> type[AsyncHTTPClient]:  # type: ignore[override]
        return type(self._http_client)

    def fetch(self, request: Any, raise_error: bool = True, **kwargs: Any) -> Any:
        return self.tornado_client.fetch(request, raise_error, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._http_client, name)


class _Through(httpclient_test.HTTPClientCommonTestCase):
    """``HTTPClientCommonTestCase`` with `TornadoClient.fetch`; subclasses pick the HTTP client."""

    __test__ = False  # only the subclasses, which name an HTTP client
    http_client_class: type[AsyncHTTPClient]

    def setUp(self) -> None:
        # As tornado/test/runtests.py does: the access log is not a finding.
        access = logging.getLogger("tornado.access")
        self.addCleanup(access.setLevel, access.level)
        access.setLevel(logging.CRITICAL)
        super().setUp()  # type: ignore[no-untyped-call]
        # CI runs with PYTHONASYNCIODEBUG=1, whose "Executing ... took 0.2 seconds" warnings for the
        # decompression-bomb cases on a loaded machine would count as unexpected logs here.
        self.io_loop.asyncio_loop.slow_callback_duration = 10  # type: ignore[attr-defined]

    def tearDown(self) -> None:
        self.http_client.tornado_client.close()  # type: ignore[attr-defined]
        self.auth_server.stop()
        super().tearDown()

    def get_http_client(self) -> _ThroughTornadoClient:  # type: ignore[override]
        self.auth_server = AuthServer(CLIENT_ID, CLIENT_SECRET).start()  # on the test's IOLoop, which setUp just made
        http_client = self.http_client_class(force_instance=True, defaults=dict(allow_ipv6=False))
        return _ThroughTornadoClient(http_client, client_for(self.auth_server, http_client=http_client))


def _expect_refusals(case: type[_Through]) -> type[_Through]:
    for name in REFUSED:
        setattr(case, name, unittest.expectedFailure(getattr(httpclient_test.HTTPClientCommonTestCase, name)))
    return case


@_expect_refusals
class TestSimple(_Through):
    __test__ = True
    http_client_class = SimpleAsyncHTTPClient


@_expect_refusals
class TestCurl(_Through):
    __test__ = True
    http_client_class = CurlAsyncHTTPClient
    decompresses_brotli = CurlAsyncHTTPClient is not None and "brotli" in __import__("pycurl").version


def test_the_list_is_tornado_s() -> None:
    """The count reported in the issue: 45 tests, the refusals among them."""
    names = [name for name in dir(httpclient_test.HTTPClientCommonTestCase) if name.startswith("test_")]
    assert len(names) == 45
    assert set(REFUSED) <= set(names)
