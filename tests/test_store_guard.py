"""`GuardedCache`'s outage rules as a state machine: Hypothesis drives reads, writes, failures and time.

Whatever the order: one WARNING per outage, however many operations fail;
while failing, the store is not called again before the backoff has passed;
an outage ends only when the kind of operation that failed (read or write)
succeeds, with one INFO line.
"""

from __future__ import annotations

import asyncio
import logging

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tornado_alf import Token
from tornado_alf.stores.contract import StoreUnavailable
from tornado_alf.stores.getset import GetSetCache
from tornado_alf.stores.guard import BACKOFF_FIRST, BACKOFF_MAX, GuardedCache


class Counting(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.levels: list[int] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.levels.append(record.levelno)


class FlakyStore:
    """A dict store whose next call fails when told to; counts the calls that reach it."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.calls = 0
        self.fail = False

    def get(self, key: str) -> object:
        self.calls += 1
        if self.fail:
            raise ConnectionError("down")
        return self.values.get(key)

    def set(self, key: str, value: str) -> None:
        self.calls += 1
        if self.fail:
            raise ConnectionError("down")
        self.values[key] = value


class GuardMachine(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.now = 0.0
        self.store = FlakyStore()
        self.guard = GuardedCache(GetSetCache(self.store), 1.0, clock=lambda: self.now)
        self.handler = Counting()
        logging.getLogger("tornado_alf").addHandler(self.handler)
        # The model.
        self.failed: set[str] = set()
        self.retry_at = 0.0
        self.backoff = BACKOFF_FIRST
        self.calls = self.warnings = self.infos = 0

    def teardown(self) -> None:
        if hasattr(self, "loop"):
            logging.getLogger("tornado_alf").removeHandler(self.handler)
            self.loop.close()

    @rule(seconds=st.floats(0, 10))
    def wait(self, seconds: float) -> None:
        self.now += seconds

    @rule(kind=st.sampled_from(["read", "write"]), fails=st.booleans())
    def call(self, kind: str, fails: bool) -> None:
        self.store.fail = fails
        thunk = (lambda: self.guard.cache.load("k")) if kind == "read" else (lambda: self._save())
        skipped = bool(self.failed) and self.now < self.retry_at
        try:
            self.loop.run_until_complete(self.guard.strict(kind, thunk))
        except StoreUnavailable:
            assert fails or skipped
        if skipped:
            return
        self.calls += 1
        if fails:
            self.warnings += not self.failed
            self.failed.add(kind)
            self.retry_at = self.now + self.backoff
            self.backoff = min(self.backoff * 2, BACKOFF_MAX)
        elif kind in self.failed:
            self.failed.discard(kind)
            if not self.failed:
                self.infos += 1
                self.backoff = BACKOFF_FIRST

    async def _save(self) -> None:
        await self.guard.cache.save("k", Token("t", expires_in=60))

    @invariant()
    def matches_the_model(self) -> None:
        if not hasattr(self, "store"):
            return
        assert self.store.calls == self.calls
        assert self.handler.levels.count(logging.WARNING) == self.warnings
        assert self.handler.levels.count(logging.INFO) == self.infos
        assert self.guard.failing == bool(self.failed)


def test_outage_rules() -> None:
    GuardMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
    GuardMachine.TestCase().runTest()
