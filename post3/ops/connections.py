"""Connections under hostile clients: timeouts, a cap, half-close, quiet malformed requests.

aiohttp alone keeps an idle or header-dripping connection for an hour (its keep-alive default),
accepts connections until ``accept()`` fails with EMFILE (which asyncio then reports in a tight
loop), lets asyncio close a connection whose client half-closed it before the answer is
written, and logs every malformed request at ERROR with a traceback. This module fixes those
in one subclass of aiohttp's ``RequestHandler`` (one per connection) and one of ``web.Server``
(the factory that makes them and sees every connection come and go):

- **head timeout**: from the first byte of a request head to its end;
- **idle timeout**: a connection waiting for a request (a new one that never sends a byte, or
  a keep-alive one between requests) is closed after it;
- **a cap on concurrent connections**, kept below the open-file limit: at the cap the oldest
  connection with no request in progress is closed to make room, preferring those that never
  completed a request (an idle or dripping flood) over keep-alive clients that did (least
  recently used first); only if every connection is busy is the newcomer closed. Either way
  one WARNING per 10 s at most, with counts;
- **half-close**: a client that sends a whole request then ``shutdown(SHUT_WR)`` gets its
  answer; an incomplete body at end of file fails as ``IncompleteBody``;
- **malformed HTTP** gets S3's ``400 BadRequest`` XML and one INFO line, no traceback.

aiohttp internals relied on (aiohttp 3.14; ``tests/ops/test_ops_connections.py`` checks they
are still there, and the live tests check the behaviour):

- ``AppRunner._make_server()`` builds the ``web.Server``; ``Server._kwargs`` and ``_loop`` are
  what it passes to each ``RequestHandler``; ``Server.__call__`` is the protocol factory.
- ``RequestHandler._messages`` (parsed requests, with their body streams, not yet handled),
  appended to by ``data_received()``; ``finish_response()`` is called once
  per answered request; ``handle_error()`` answers parse errors; ``close()`` ends the connection
  after the request in progress, ``force_close()`` at once; ``eof_received()`` is a no-op that
  lets asyncio close the transport.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, PayloadEncodingError
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler

from post3 import errors
from post3.xml import render_error

log = logging.getLogger("post3.connections")

#: Descriptors kept out of the connection cap: the listening socket, the event loop, logs, the
#: backend's own (a PostgreSQL pool, directories).
FD_RESERVE = 128
#: At most one warning per this many seconds for each kind of refusal.
WARN_EVERY = 10.0
#: A timer that fires this close to its deadline counts as on time (asyncio runs timers up to
#: its clock's resolution early; a timeout of seconds does not care about a millisecond).
_TIMER_SLACK = 0.001
#: asyncio's report when ``accept()`` fails for lack of descriptors or memory.
ACCEPT_FAILED = "socket.accept() out of system resource"


@dataclass(frozen=True, slots=True)
class Limits:
    header_timeout: float
    idle_timeout: float
    max_connections: int


class RateLimitedWarning:
    """Counts events and logs them at most once per ``interval`` seconds, with the count."""

    def __init__(self, message: str, interval: float = WARN_EVERY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.message = message  # %-format with one argument: the count
        self.interval = interval
        self.clock = clock
        self.pending = 0
        self.last: float | None = None

    def __call__(self) -> None:
        self.pending += 1
        now = self.clock()
        if self.last is None or now - self.last >= self.interval:
            log.warning(self.message, self.pending)
            self.pending = 0
            self.last = now


# --------------------------------------------------------------------------- open files


def raise_open_file_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit (an unprivileged process may); return
    the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as exc:  # a platform that refuses: keep what we have
            log.warning("cannot raise the open-file limit from %d to %d: %s", soft, hard, exc)
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def connection_cap(max_connections: int, open_files: int) -> int:
    """The cap in force: ``max_connections``, lowered so that connections (each may hold a
    second descriptor, the file it reads or writes) never exhaust the open-file limit."""
    if open_files == resource.RLIM_INFINITY:
        return max_connections
    return max(1, min(max_connections, (open_files - FD_RESERVE) // 2))


def quiet_accept_errors(loop: asyncio.AbstractEventLoop) -> None:
    """Rate-limit asyncio's ``accept()`` failure report (EMFILE, ENFILE, ENOBUFS, ENOMEM).

    CPython logs it with a traceback for every failed ``accept()`` of every retry: gigabytes
    of log while the limit holds. The cap keeps post3 below the limit, so this only fires when
    something else took the descriptors."""
    warn = RateLimitedWarning("%d connections could not be accepted (out of file descriptors "
                              "or memory) since the last report")
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") == ACCEPT_FAILED:
            warn()
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


# --------------------------------------------------------------------------- the server


class Post3Runner(web.AppRunner):
    """``web.AppRunner`` whose server is a :class:`GuardedServer`."""

    def __init__(self, app: web.Application, limits: Limits, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.limits = limits

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()  # runs the app's startup, as AppRunner does
        return GuardedServer(
            plain.request_handler, request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation, loop=plain._loop,
            limits=self.limits, **plain._kwargs,
        )


class GuardedServer(web.Server):
    """Makes a :class:`GuardedHandler` per connection and enforces the connection cap."""

    def __init__(self, *args: Any, limits: Limits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self.live: set[GuardedHandler] = set()
        # Connections with no request in progress, oldest first. ``unproven`` never completed a
        # request; ``reusable`` did (ordered by when they last finished one).
        self.unproven: dict[GuardedHandler, None] = {}
        self.reusable: dict[GuardedHandler, None] = {}
        self._evicted = RateLimitedWarning(
            f"connection limit ({limits.max_connections}) reached: %d connections with no "
            f"request in progress closed to make room since the last report")
        self._refused = RateLimitedWarning(
            f"connection limit ({limits.max_connections}) reached with every connection "
            f"busy: %d new connections closed since the last report")

    def __call__(self) -> GuardedHandler:
        return GuardedHandler(self, loop=self._loop, limits=self.limits, **self._kwargs)

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        assert isinstance(handler, GuardedHandler)
        if len(self.live) >= self.limits.max_connections:
            victim = next(iter(self.unproven or self.reusable), None)
            if victim is None:
                handler.force_close()
                self._refused()
                return
            self.forget(victim)
            victim.force_close()
            self._evicted()
        self.live.add(handler)
        self.set_waiting(handler, True)

    def connection_lost(self, handler: RequestHandler, exc: BaseException | None = None) -> None:
        if isinstance(handler, GuardedHandler):
            self.forget(handler)
        super().connection_lost(handler, exc)

    def set_waiting(self, handler: GuardedHandler, waiting: bool) -> None:
        """``waiting``: the connection has no request in progress, so it may be evicted."""
        self.unproven.pop(handler, None)
        self.reusable.pop(handler, None)
        if waiting and handler in self.live:
            (self.reusable if handler.answered else self.unproven)[handler] = None

    def forget(self, handler: GuardedHandler) -> None:
        self.live.discard(handler)
        self.set_waiting(handler, False)


# --------------------------------------------------------------------------- one connection

_WAITING, _HEAD, _BUSY = "waiting", "head", "busy"


class GuardedHandler(RequestHandler):
    """aiohttp's per-connection protocol, with the timeouts, half-close and quiet 400s."""

    __slots__ = ("limits", "answered", "peer_closed", "_phase", "_timer", "_deadline",
                 "_last_payload")

    def __init__(self, manager: GuardedServer, *, limits: Limits, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self.limits = limits
        self.answered = 0  # requests answered on this connection
        self.peer_closed = False  # the client sent end of file (shutdown(SHUT_WR))
        self._phase = _WAITING
        self._timer: asyncio.TimerHandle | None = None
        self._deadline: float | None = None  # when the armed timeout expires (loop time)
        self._last_payload: StreamReader | None = None  # the body of the last request parsed

    # -- timeouts: one deadline, set while no request is in progress
    #
    # Every request sets a deadline twice (head, then idle) and clears it once. Scheduling and
    # cancelling a timer each time would cost a keep-alive connection two timers per request,
    # so the timer is left in place: it fires no later than the deadline, and when it finds
    # the deadline moved on (or cleared) it is set again for what is left, or not at all.

    def _arm(self, seconds: float) -> None:
        deadline = self._loop.time() + seconds
        self._deadline = deadline
        timer = self._timer
        if timer is not None and timer.when() <= deadline:
            return  # it fires in time, and then looks at the deadline
        if timer is not None:
            timer.cancel()
        self._timer = self._loop.call_at(deadline, self._expired)

    def _disarm(self) -> None:
        self._deadline = None

    def _cancel_timer(self) -> None:
        self._deadline = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        self._timer = None
        deadline = self._deadline
        if deadline is None:
            return
        if deadline - self._loop.time() > _TIMER_SLACK:
            self._timer = self._loop.call_at(deadline, self._expired)
            return
        self._deadline = None
        if self._phase != _BUSY:
            self.force_close()

    def _guarded_server(self) -> GuardedServer | None:
        manager = self._manager
        return manager if isinstance(manager, GuardedServer) else None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # the server may close us at once (the cap)
        if not self._force_close:
            self._arm(self.limits.idle_timeout)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._cancel_timer()
        self._last_payload = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if data and self._phase == _WAITING:
            # The first byte of a request head: from now on the head timeout applies.
            self._phase = _HEAD
            self._arm(self.limits.header_timeout)
        super().data_received(data)
        if self._messages:
            self._last_payload = self._messages[-1][1]
        if self._phase == _HEAD and self._messages:  # the head is complete (or malformed)
            self._phase = _BUSY
            self._disarm()
            if (server := self._guarded_server()) is not None:
                server.set_waiting(self, False)

    async def finish_response(self, request: Any, resp: web.StreamResponse,
                              start_time: float | None) -> tuple[web.StreamResponse, bool]:
        result = await super().finish_response(request, resp, start_time)
        self.answered += 1
        if self.peer_closed:
            # The client cannot send another request: no lingering over a body that will
            # never end, and close once every request received is answered.
            if not request.content.is_eof():
                request.content.feed_eof()
            if not self._messages:
                self.close()
        elif not self._messages:  # nothing pipelined: wait for the next request
            self._phase = _WAITING
            self._arm(self.limits.idle_timeout)
            if (server := self._guarded_server()) is not None:
                server.set_waiting(self, True)
        return result

    # -- half-close

    def eof_received(self) -> bool:  # type: ignore[override]  # asyncio's protocol allows it
        """The client shut its sending side down. Returning True keeps the transport open for
        writing (aiohttp returns None, and asyncio then closes the transport, cancelling the
        answer to a request that had fully arrived)."""
        self.peer_closed = True
        # Only the last request parsed can have an unfinished body: the parser had moved past
        # every earlier one.
        payload = self._last_payload
        if payload is not None and not payload.is_eof():
            # Its handler (running or yet to run) answers IncompleteBody.
            payload.set_exception(PayloadEncodingError("the client closed its side mid-body"))
        if self._phase != _BUSY:
            # Nothing to answer: idle, or a head cut short. (Not ``_request_in_progress``: it
            # is still False between start() taking a request and its handler's first step.)
            self.force_close()
        return True

    # -- malformed requests

    def handle_error(self, request: Any, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if not isinstance(exc, HttpProcessingError):
            return super().handle_error(request, status, exc, message)
        # A client's mistake (or a scanner's): one line, below ERROR, no traceback.
        reason = " ".join(str(exc.message or exc).split())[:200]
        log.info("malformed request from %s: %s", request.remote, reason)
        request_id = secrets.token_hex(8).upper()  # the shape of post3's request ids
        body = render_error(errors.BadRequest(reason), request_id, None)
        response = web.Response(status=400, body=body, content_type="application/xml",
                                headers={"x-amz-request-id": request_id, "Server": "post3"})
        response.force_close()  # the parser's state is lost: nothing more can be read
        return response
