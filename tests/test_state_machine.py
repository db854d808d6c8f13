"""A Hypothesis state machine drives one client through the token's whole life, on real sockets.

Steps: bursts of concurrent fetches (during which tokens may be revoked, token
requests fail, callers be cancelled or the client closed), 401 storms, failing
token requests, the clock moving past refresh points and expiries, ``close()``.
Each step runs its burst to the end (background refreshes included) on the
machine's own event loop; then the invariants are checked:

- every request carried the token current when it was sent, or is its single
  replay (one more request, after a 401, with a newer token);
- token requests <= expiries + distinct tokens rejected + failed requests + 1;
- no caller waits for a refresh ahead: while the newest token is valid and not
  rejected, every call's first request carries it;
- no exception nobody retrieved, no task left behind, no token request started
  after ``close()``.

The monotonic clock of the token manager is the machine's own (expiry is
arithmetic on it: tests must not sleep through lifetimes). ``examples`` per HTTP
client: ``TORNADO_ALF_STATE_MACHINE_EXAMPLES`` (default 60, 8 to 10 s each).
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import os
from typing import Any, ClassVar, Optional, Union

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from tornado.httpclient import AsyncHTTPClient
from tornado.ioloop import IOLoop

from tests.conftest import SERVERS_THIS_TEST
from tests.lifecycle_kit import HTTP_CLIENTS, Hit, Resource, client_for, leftover_tasks, new_http_client
from tornado_alf import ClientHooks, TokenError, TokenRequestEvent
from tornado_alf.testing import AuthServer

EXAMPLES = int(os.environ.get("TORNADO_ALF_STATE_MACHINE_EXAMPLES", "60"))

LIFETIME = 100.0  # expires_in; expiry_margin=0, so usable for all of it
REFRESH_AHEAD = 0.5  # due half way from arrival to expiry

#: Examples run, per HTTP client, reported at the end of each test.
RUNS: dict[str, int] = {}


@dataclasses.dataclass
class Call:
    """One `TornadoClient.fetch`: how many resource requests had arrived when it began, how it ended."""

    id: str
    start: int
    outcome: Union[int, str, None] = None


class Ends(ClientHooks):
    """Counts token requests seen to an end (success or failure)."""

    def __init__(self) -> None:
        self.count = 0

    def on_token_request(self, event: TokenRequestEvent) -> None:
        """One more ended."""
        self.count += 1


class Lifecycle(RuleBasedStateMachine):
    """One client, one token endpoint, one resource; see the module docstring."""

    kind: ClassVar[str] = "simple"

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.errors: list[str] = []
        self.loop.set_exception_handler(lambda _, context: self.errors.append(str(context.get("message"))))
        self.now = 1_000.0
        self.calls: list[Call] = []
        self.arrival: dict[str, float] = {}  # token -> clock value of the step it arrived in
        self.closed = False
        self.ends = Ends()
        self.loop.run_until_complete(self._start())

    async def _start(self) -> None:
        self.ioloop = IOLoop.current()
        self.auth_server = AuthServer("test-client", "s3cr3t-p@ss w+rd:/%&=?", expires_in=LIFETIME).start()
        self.auth_server.token_latency = 0.003  # long enough for calls to overlap a refresh ahead
        SERVERS_THIS_TEST.append(self.auth_server)
        self.resource = Resource(self.auth_server).start()
        self.http: AsyncHTTPClient = new_http_client(self.kind)
        self.client = client_for(
            self.auth_server, self.http, expiry_margin=0, refresh_ahead=REFRESH_AHEAD, hooks=self.ends
        )
        # The manager's injected clock (time.monotonic by default) becomes the machine's.
        self.client._tokens._clock = lambda: self.now

    # -- rules

    @precondition(lambda self: not self.closed)
    @rule(
        count=st.integers(1, 6),
        delay=st.sampled_from([0.0, 0.005, 0.02]),
        during=st.lists(st.sampled_from(["revoke", "fail", "cancel", "close"]), max_size=2),
        pause=st.sampled_from([0.0, 0.002, 0.01]),
    )
    def fetches(self, count: int, delay: float, during: list[str], pause: float) -> None:
        """``count`` concurrent fetches; after ``pause`` seconds the ``during`` events happen."""
        self.resource.delay = delay
        expected = self._token_that_needs_no_wait()
        started = len(self.calls)
        self._run(self._burst(count, during, pause))
        if expected is not None:  # no caller waits for a refresh ahead
            for call in self.calls[started:]:
                first = self._hits_of(call)[:1]
                assert [hit.token for hit in first] in ([], [expected]), "a caller waited for a new token"

    @rule()
    def revoke(self) -> None:
        """A 401 storm awaits the next requests: every token issued so far is refused."""
        self.auth_server.revoke_all()

    @rule(times=st.integers(1, 2), answer=st.sampled_from(["503", "invalid_client", "garbage"]))
    def fail_token_requests(self, times: int, answer: str) -> None:
        """The next ``times`` token requests fail."""
        if answer == "503":
            self.auth_server.fail_next(times, 503)
        elif answer == "invalid_client":
            self.auth_server.fail_next(times, 400, b'{"error": "invalid_client"}')
        else:
            self.auth_server.fail_next(times, 200, b"<html>not a token</html>")

    @rule(seconds=st.sampled_from([1.0, 30.0, 60.0, 120.0]))
    def advance(self, seconds: float) -> None:
        """Time passes: into a refresh window, past an expiry, or hardly."""
        self.now += seconds

    @precondition(lambda self: not self.closed)
    @rule()
    def close(self) -> None:
        """``close()`` between bursts; later calls raise `RuntimeError`."""
        self._close()
        with pytest.raises(RuntimeError):
            self._run(self.client.fetch(self.resource.url))

    # -- invariants

    @invariant()
    def every_request_carried_the_current_token_or_is_its_single_replay(self) -> None:
        order = {token: index for index, token in enumerate(self.auth_server.issued)}
        for call in self.calls:
            hits = self._hits_of(call)
            assert len(hits) <= 2, f"{len(hits)} requests for one call"
            assert all(hit.token in order for hit in hits), "a request without an issued token"
            if len(hits) == 2:
                first, replay = hits
                assert first.status == 401, "sent again after a non-rejection"
                assert order[str(replay.token)] > order[str(first.token)], "replayed with an older token"
            if hits:
                newest_before = max((order[str(h.token)] for h in self.resource.hits[: call.start]), default=-1)
                assert order[str(hits[0].token)] >= newest_before, "sent a token older than one already in use"
            if isinstance(call.outcome, int):
                assert hits, "a response without a request"
                assert call.outcome == hits[-1].status

    @invariant()
    def token_requests_are_bounded(self) -> None:
        requests = self.auth_server.token_requests
        failed = requests - len(self.auth_server.issued)
        rejected = {hit.token for hit in self.resource.hits if hit.status == 401}
        assert requests <= self._expiries() + len(rejected) + failed + 1

    @invariant()
    def nothing_left_unretrieved(self) -> None:
        gc.collect(1)  # the young generations here; all of them at teardown
        assert self.errors == []

    # -- the machinery

    def teardown(self) -> None:
        try:
            if not self.closed:
                self._close()
            self._run(self._stop())
            gc.collect()
            assert self.errors == []
            RUNS[self.kind] = RUNS.get(self.kind, 0) + 1
        finally:
            self.ioloop.close()

    async def _stop(self) -> None:
        await asyncio.sleep(0.02)  # the endpoint finishes what a closed client abandoned
        self.http.close()
        await self.resource.stop()
        await self.auth_server.__aexit__(None, None, None)  # also closes Curl's keep-alive connections
        assert leftover_tasks() == [], "the client left tasks behind"

    def _run(self, awaitable: Any) -> Any:
        return self.loop.run_until_complete(awaitable)

    def _close(self) -> None:
        attempts = self.client.stats().token_request_attempts
        self.client.close()
        self.closed = True
        self._run(asyncio.sleep(0.01))
        assert self.client.stats().token_request_attempts == attempts, "a token request started after close()"

    async def _burst(self, count: int, during: list[str], pause: float) -> None:
        tasks = [asyncio.ensure_future(self._call()) for _ in range(count)]
        await asyncio.sleep(pause)
        attempts_at_close: Optional[int] = None
        for event in during:
            if event == "revoke":
                self.auth_server.revoke_all()
            elif event == "fail":
                self.auth_server.fail_next(1, 503)
            elif event == "cancel":
                tasks[-1].cancel()
            elif not self.closed:
                attempts_at_close = self.client.stats().token_request_attempts
                self.client.close()
                self.closed = True
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, TokenError) and attempts_at_close is not None:
                continue  # 599 after close(), or the endpoint's failure
            assert not isinstance(outcome, BaseException) or isinstance(outcome, (TokenError, asyncio.CancelledError))
        await self._settle()
        if attempts_at_close is not None:
            assert self.client.stats().token_request_attempts == attempts_at_close
        for token in self.auth_server.issued:
            self.arrival.setdefault(token, self.now)

    async def _call(self) -> None:
        call = Call(str(len(self.calls)), len(self.resource.hits))
        self.calls.append(call)
        try:
            response = await self.client.fetch(self.resource.url, headers={"X-Call": call.id}, raise_error=False)
        except TokenError as exc:
            call.outcome = f"TokenError {exc.code}"
            raise
        except asyncio.CancelledError:
            call.outcome = "cancelled"
            raise
        call.outcome = response.code

    async def _settle(self) -> None:
        """Wait until every token request the client started has ended (refreshes ahead included)."""
        for _ in range(500):
            if self.closed or self.client.stats().token_request_attempts == self.ends.count:
                return
            await asyncio.sleep(0.002)
        raise AssertionError("a token request never ended")

    def _hits_of(self, call: Call) -> list[Hit]:
        return [hit for hit in self.resource.hits if hit.call == call.id]

    def _token_that_needs_no_wait(self) -> Optional[str]:
        """The newest token, when the client holds it valid and no rejection of it was seen."""
        if not self.auth_server.issued:
            return None
        newest = list(self.auth_server.issued)[-1]
        rejected = any(hit.token == newest and hit.status == 401 for hit in self.resource.hits)
        if rejected or self.now - self.arrival[newest] >= LIFETIME:
            return None
        return newest

    def _expiries(self) -> int:
        """Tokens that reached their refresh point while they were the newest."""
        arrivals = [self.arrival.get(token, self.now) for token in self.auth_server.issued]
        ends = [*arrivals[1:], self.now]
        return sum(1 for came, went in zip(arrivals, ends) if went - came >= REFRESH_AHEAD * LIFETIME)


@pytest.mark.parametrize("kind", HTTP_CLIENTS)
def test_token_lifecycle_state_machine(kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    machine = type(f"Lifecycle_{kind}", (Lifecycle,), {"kind": kind})
    RUNS[kind] = 0
    # Hypothesis ships this function without annotations.
    run_state_machine_as_test(  # type: ignore[no-untyped-call]
        machine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=20,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    with capsys.disabled():
        print(f"\nstate machine on {kind}: {RUNS[kind]} examples")
    assert RUNS[kind] >= min(EXAMPLES, 1)
