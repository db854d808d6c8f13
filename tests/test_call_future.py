"""CallFuture against asyncio's own Task: the same coroutine, the same consumers, the same outcome.

`TornadoClient.fetch` returns a `CallFuture` instead of a task, to spare every
request two turns of the event loop. It must not differ from a task in what
anyone can see: the coroutine's steps, what it is told (results, errors,
cancellation), what each awaiter and callback gets, and no "never retrieved"
report. Hypothesis writes the coroutines (waits, bare yields, cancellations
swallowed, errors, returns) and the consumers (awaited at once, awaited later,
callbacks, two awaiters, cancelling the future or an awaiting task at any point);
each scenario runs twice, once with a task and once with a `CallFuture`, and the
two records must be equal. ``TORNADO_ALF_CALL_FUTURE_EXAMPLES`` sets how many
scenarios (default 150: about 10 s in the full suite; 2,000 for a slow run). Real-socket tests of fetch's future are in
test_callbacks.py and test_cancellation.py.
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Coroutine
from typing import Any, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tornado_alf._call_future import CallFuture

# Made as fetch makes it: the coroutine's first step (``first``) under way, the coroutine not started.
EXAMPLES = int(os.environ.get("TORNADO_ALF_CALL_FUTURE_EXAMPLES", "150"))

Factory = Callable[["asyncio.Future[Any]", Coroutine[Any, Any, Any]], "asyncio.Future[Any]"]

# A coroutine's steps: wait for the scenario's next future; a bare yield; a wait
# that swallows a cancellation; then the end: return or raise.
STEPS = st.lists(st.sampled_from(["wait", "yield", "wait-swallowing"]), max_size=5)
ENDS = st.sampled_from(["return", "raise"])
# What the scenario does between steps of the loop: settle a future the coroutine
# may wait for (with a value or an error), cancel the CallFuture or task, or
# cancel the first awaiting task.
ACTIONS = st.lists(st.sampled_from(["resolve", "fail", "cancel", "cancel-awaiter"]), max_size=8)
CONSUMERS = st.sampled_from(["await", "await-late", "callback", "two-awaiters", "nobody"])


async def _settle() -> None:
    for _ in range(6):
        await asyncio.sleep(0)


class _Scenario:
    """One coroutine, its consumers and the scenario's actions; `record` is what anyone could see."""

    def __init__(self, steps: list[str], end: str) -> None:
        self.steps, self.end = steps, end
        self.record: list[Any] = []
        self.first: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waits: list[asyncio.Future[Any]] = [self.first]
        self.awaiters: list[asyncio.Task[None]] = []

    async def coroutine(self) -> str:
        self.record.append(("first", await self.first))
        for index, step in enumerate(self.steps):
            if step == "yield":
                await asyncio.sleep(0)
                self.record.append(("yielded", index))
            else:
                await self._wait(index, swallow=step == "wait-swallowing")
        if self.end == "raise":
            raise ValueError("the end")
        return "returned"

    async def _wait(self, index: int, swallow: bool) -> None:
        waited = asyncio.get_running_loop().create_future()
        self.waits.append(waited)
        try:
            self.record.append(("got", index, await waited))
        except asyncio.CancelledError:
            self.record.append(("cancelled at", index))
            if not swallow:
                raise
        except ValueError as error:
            self.record.append(("error at", index, str(error)))

    def await_(self, future: asyncio.Future[Any], name: str) -> None:
        self.awaiters.append(asyncio.get_running_loop().create_task(self._awaiter(future, name)))

    async def _awaiter(self, future: asyncio.Future[Any], name: str) -> None:
        try:
            self.record.append((name, "result", await future))
        except asyncio.CancelledError:
            self.record.append((name, "cancelled"))
        except ValueError as error:
            self.record.append((name, "error", str(error)))

    def act(self, number: int, action: str, future: asyncio.Future[Any]) -> None:
        pending = [waited for waited in self.waits if not waited.done()]
        if action == "resolve" and pending:
            pending[0].set_result(number)
        elif action == "fail" and pending:
            pending[0].set_exception(ValueError(f"failed {number}"))
        elif action == "cancel":
            self.record.append(("cancel", future.cancel()))
        elif action == "cancel-awaiter" and self.awaiters:
            self.awaiters[0].cancel()

    async def finish(self) -> None:
        for waited in self.waits:  # let the coroutine end, whatever is left
            if not waited.done():
                waited.set_result("last")
                await _settle()
        await asyncio.gather(*self.awaiters, return_exceptions=True)
        for _ in range(3):  # a task's ending takes a few turns: its done callbacks run after
            await _settle()


async def _scenario(factory: Factory, steps: list[str], end: str, consumer: str, actions: list[str]) -> list[Any]:
    scenario = _Scenario(steps, end)
    future = factory(scenario.first, scenario.coroutine())
    if consumer in ("await", "two-awaiters"):
        scenario.await_(future, "first")
    if consumer == "callback":
        future.add_done_callback(lambda done: scenario.record.append(("callback", _outcome(done))))
    await _settle()
    if consumer == "await-late":
        scenario.await_(future, "first")
    if consumer == "two-awaiters":
        scenario.await_(future, "second")
    await _settle()
    for number, action in enumerate(actions):
        scenario.act(number, action, future)
        await _settle()
    await scenario.finish()
    # Its state, not its outcome: reading the error would hide one nobody retrieved.
    scenario.record.append(("future", future.done(), future.cancelled()))
    return scenario.record


def _outcome(future: asyncio.Future[Any]) -> Any:
    if not future.done():
        return "pending"
    if future.cancelled():
        return "cancelled"
    error = future.exception()
    return ("error", str(error)) if error is not None else ("result", future.result())


def _run(factory: Factory, *scenario: Any) -> tuple[list[Any], list[str]]:
    loop = asyncio.new_event_loop()
    reported: list[str] = []
    # "Task exception was never retrieved", "CallFuture exception...": the same report.
    loop.set_exception_handler(lambda _loop, context: reported.append(context["message"].split(" ", 1)[1]))
    try:
        record = loop.run_until_complete(_scenario(factory, *scenario))
    finally:
        loop.close()
    gc.collect()  # a future whose error nobody retrieved reports it here
    return record, reported


@pytest.mark.timeout(300)  # a full gc.collect() per run, in a process holding the whole suite
@settings(max_examples=EXAMPLES, deadline=None)
@given(STEPS, ENDS, CONSUMERS, ACTIONS)
def test_a_call_future_is_seen_as_a_task_is(steps: list[str], end: str, consumer: str, actions: list[str]) -> None:
    as_task, task_reports = _run(lambda _first, coroutine: asyncio.ensure_future(coroutine), steps, end, consumer,
                                 actions)
    as_call, call_reports = _run(CallFuture, steps, end, consumer, actions)
    assert as_call == as_task
    assert call_reports == task_reports


def test_awaited_at_once_it_costs_the_loop_no_turn() -> None:
    """Awaited, the coroutine runs in the awaiting task: with nothing to wait for, in the same step."""
    turns = 0

    async def count_turns() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    async def main() -> None:
        first = asyncio.get_running_loop().create_future()
        first.set_result(7)

        async def coroutine() -> int:
            return int(await first) * 6

        counter = asyncio.ensure_future(count_turns())
        await asyncio.sleep(0)
        before = turns
        assert await CallFuture(first, coroutine()) == 42
        assert turns == before  # no turn of the loop in between
        counter.cancel()

    asyncio.run(main())
