"""The future `TornadoClient.fetch` returns: started at once, then run by the task that awaits it.

`asyncio.ensure_future` on the request's coroutine costs every ``await
client.fetch(...)`` two more turns of the event loop (the task's first step, then
waking its awaiter), about as much CPU as the rest of the client. A `CallFuture`
runs its coroutine's first step at once, as an eager task does (Python 3.12):
the request is queued before `fetch` returns, as Tornado's own ``fetch`` does.
Awaited, it runs the rest inside the awaiting task, as awaiting the coroutine
would. Left alone, or handed to ``add_done_callback``, ``IOLoop.add_future``,
``gather`` or ``wait_for``, it steps the coroutine from the callbacks of the
futures it waits for, as a task does.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine, Generator
from typing import Any, Optional, TypeVar

T = TypeVar("T")


class CallFuture(asyncio.Future[T]):
    """The future of ``coroutine``, which it runs to its end: on its own, or in the task awaiting it.

    Cancelling it cancels what the coroutine waits for, as `asyncio.Task.cancel`
    does: the coroutine sees `asyncio.CancelledError` there, and the future ends
    cancelled unless the coroutine has already returned.
    """

    __slots__ = ("_awaited", "_context", "_coroutine", "_must_cancel", "_waiting")

    def __init__(self, coroutine: Coroutine[Any, Any, T]) -> None:
        super().__init__(loop=asyncio.get_running_loop())
        self._coroutine = coroutine
        self._context = contextvars.copy_context()
        self._waiting: Optional[asyncio.Future[Any]] = None  # what the coroutine waits for
        self._awaited = False  # an awaiting task runs the coroutine from now on
        self._must_cancel = False
        self._context.run(self._step)

    # -- run on its own, as a task runs its coroutine ------------------------------------------------

    def _step(self, error: Optional[BaseException] = None) -> None:
        try:
            yielded = self._resume(error)
        except StopIteration as stop:
            self._return(stop.value)
        except asyncio.CancelledError:
            super().cancel()
        except (KeyboardInterrupt, SystemExit) as exit_:
            super().set_exception(exit_)
            raise
        except BaseException as raised:  # the future carries it, as a task's does
            super().set_exception(raised)
        else:
            self._wait_for(yielded)

    def _wait_for(self, yielded: Any) -> None:
        if yielded is None:  # a bare yield: asyncio.sleep(0)
            self.get_loop().call_soon(self._step_unless_awaited, context=self._context)
        elif getattr(yielded, "_asyncio_future_blocking", None):
            yielded._asyncio_future_blocking = False
            self._waiting = yielded
            yielded.add_done_callback(self._wake, context=self._context)
        else:
            self._step(RuntimeError(f"CallFuture's coroutine yielded {type(yielded).__name__}, not a future"))

    def _step_unless_awaited(self) -> None:
        if not self._awaited:
            self._step()

    def _wake(self, future: asyncio.Future[Any]) -> None:
        if self._awaited or future is not self._waiting:
            return
        self._waiting = None
        try:
            future.result()
        except BaseException as error:  # thrown into the coroutine, as a task does
            self._step(error)
        else:
            self._step()

    def _resume(self, error: Optional[BaseException]) -> Any:
        if self._must_cancel:
            self._must_cancel = False
            error = asyncio.CancelledError()
        if error is None:
            return self._coroutine.send(None)
        return self._coroutine.throw(error)

    def _return(self, value: T) -> None:
        if self._must_cancel:
            super().cancel()
        else:
            super().set_result(value)

    # -- run by the awaiting task ------------------------------------------------------------------

    def __await__(self) -> Generator[Any, None, T]:
        if self.done() or self._awaited:
            return (yield from super().__await__())
        self._awaited = True
        yielded = self._waiting
        if yielded is not None:  # the awaiting task's to wait for from now on
            yielded.remove_done_callback(self._wake)
            yielded._asyncio_future_blocking = True
        while not self.done():
            error: Optional[BaseException] = None
            try:
                yield yielded
            except GeneratorExit:  # the awaiting task was destroyed
                self._coroutine.close()
                super().cancel()
                raise
            except BaseException as thrown:  # the awaiting task's (its cancellation): passed on
                error = thrown
            yielded = self._step_awaited(error)
        return self.result()

    def _step_awaited(self, error: Optional[BaseException]) -> Any:
        """One step in the awaiting task: what the coroutine waits for next, ``None`` once it ended."""
        try:
            yielded = self._resume(error)
        except StopIteration as stop:
            self._return(stop.value)
            return None
        except asyncio.CancelledError:
            super().cancel()
            raise
        except BaseException as raised:
            super().set_exception(raised)
            self.exception()  # raised to the awaiter: retrieved, never logged as lost
            raise
        self._waiting = yielded if getattr(yielded, "_asyncio_future_blocking", None) else None
        return yielded

    __iter__ = __await__  # ``yield from`` in a generator-based coroutine

    def cancel(self, msg: Optional[Any] = None) -> bool:
        """Cancel what the coroutine waits for; it ends cancelled (see the class)."""
        if self.done():
            return super().cancel(msg)  # False; as for a task, an error nobody read is no longer reported
        waiting = self._waiting
        if waiting is None or not waiting.cancel(msg):
            self._must_cancel = True  # thrown in at its next step
        return True
