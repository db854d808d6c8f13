"""The future `TornadoClient.fetch` returns: the request already under way, the rest run by its awaiter.

`asyncio.ensure_future` on the request's coroutine costs every ``await
client.fetch(...)`` two more turns of the event loop (the task's first step, then
waking its awaiter) and a task: about as much CPU as the rest of the client. A
`CallFuture` is made once the request's first step is under way (the request
queued, as Tornado's own ``fetch`` queues it, or the token awaited): ``first``,
and the coroutine that continues from there, not started yet. Awaited, the
coroutine runs inside the awaiting task, as awaiting it directly would: no task,
no extra turn. Nobody awaiting it once ``first`` is done (the future left alone,
or handed to ``add_done_callback``, ``IOLoop.add_future``, ``gather`` or
``wait_for``), the coroutine runs in a task of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any, Optional, TypeVar

T = TypeVar("T")


class CallFuture(asyncio.Future[T]):
    """The future of ``coroutine``, which first awaits ``first``: run by its awaiter, else by a task.

    Cancelling it before the coroutine started cancels ``first`` and the coroutine
    never runs. Afterwards it cancels the task running the coroutine: its own, or
    the awaiting task (what a cancelled future does to the task awaiting it).
    """

    __slots__ = ("_coroutine", "_first", "_runner")

    def __init__(self, first: asyncio.Future[Any], coroutine: Coroutine[Any, Any, T]) -> None:
        super().__init__(loop=first.get_loop())
        self._first = first
        self._coroutine: Optional[Coroutine[Any, Any, T]] = coroutine
        self._runner: Optional[asyncio.Task[Any]] = None
        first.add_done_callback(self._run_in_own_task)

    def _run_in_own_task(self, _first: asyncio.Future[Any]) -> None:
        coroutine, self._coroutine = self._coroutine, None
        if coroutine is not None:  # nobody awaited it before its first step was done
            self._runner = self.get_loop().create_task(coroutine)
            self._runner.add_done_callback(self._settle_from)

    def _settle_from(self, task: asyncio.Task[T]) -> None:
        if self.done():
            return
        if task.cancelled():
            super().cancel()
        elif (error := task.exception()) is not None:
            self.set_exception(error)
        else:
            self.set_result(task.result())

    def __await__(self) -> Generator[Any, None, T]:
        coroutine, self._coroutine = self._coroutine, None
        if coroutine is None:  # running in a task of its own, awaited elsewhere, or done
            return (yield from super().__await__())
        self._first.remove_done_callback(self._run_in_own_task)
        self._runner = asyncio.current_task()
        try:
            result = yield from coroutine.__await__()
        except asyncio.CancelledError:
            super().cancel()
            raise
        except BaseException as raised:
            if not self.done():
                self.set_exception(raised)
                self.exception()  # raised to the awaiter: retrieved, never reported as lost
            raise
        if not self.done():
            self.set_result(result)
        return self.result()  # cancelled meanwhile: CancelledError

    __iter__ = __await__  # ``yield from`` in a generator-based coroutine

    def cancel(self, msg: Optional[Any] = None) -> bool:
        """Cancel the request: before its coroutine started, or the task running it (see the class)."""
        if self.done():
            return super().cancel(msg)  # False; as for a task, an error nobody read is no longer reported
        coroutine, self._coroutine = self._coroutine, None
        if coroutine is not None:
            self._first.remove_done_callback(self._run_in_own_task)
            self._first.cancel(msg)
            coroutine.close()
        elif self._runner is not None:
            self._runner.cancel(msg)
            return True
        return super().cancel(msg)
