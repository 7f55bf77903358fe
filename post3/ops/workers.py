"""``post3 run --workers N``: N processes answering on one listening socket.

The parent binds the socket once (so ``--port 0`` gives every worker the same port), forks the
workers, which inherit it, and closes its own copy: the kernel hands each new connection to one
of the workers. The parent announces the URL once every worker is serving, forwards SIGTERM and
SIGINT to all of them, and if one dies unexpectedly stops the others and exits non-zero, so a
supervisor (systemd, a container runtime) restarts the whole set.

Workers die with their parent, however it dies (SIGKILL and the OOM killer included): each
holds the read end of a "lifeline" pipe whose only write end the parent keeps, and a thread
waiting on it sees end of file when the kernel closes that end with the parent. The worker then
stops as on SIGTERM (stop accepting, finish the requests in flight), so the port is free again
for whatever restarts the set. A pipe, not ``prctl(PR_SET_PDEATHSIG)``, because it works on
every POSIX system and cannot miss a parent that died before the child set it up.

The workers share nothing but the backend: each opens its own (its own PostgreSQL pool, its
own file handles), and whatever the backend guarantees across processes holds across them.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Callable

log = logging.getLogger("post3")

#: ``worker(sock, ready)`` serves on ``sock`` until SIGTERM; it calls ``ready()`` once listening.
Worker = Callable[[socket.socket, Callable[[], None]], None]

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def bind(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """A listening TCP socket on ``host:port`` (IPv6 when the host is an IPv6 literal)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=backlog)


def run_workers(count: int, sock: socket.socket, worker: Worker,
                announce: Callable[[], None]) -> int:
    """Fork ``count`` workers serving ``sock``; return the exit status for the parent."""
    children: dict[int, int] = {}  # pid -> read end of its readiness pipe
    stopping = False

    def stop_all(signum: int = signal.SIGTERM, frame: object = None) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    for sig in _STOP_SIGNALS:
        signal.signal(sig, stop_all)
    lifeline, parent_end = os.pipe()  # the parent never writes: only its death matters
    for _ in range(count):
        # Blocked across fork: a signal arriving before the child has reset its handlers
        # would otherwise run the parent's handler in the child.
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            os.close(parent_end)
            _child(sock, write_end, lifeline, worker)  # never returns
        os.close(write_end)
        children[pid] = read_end
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        if stopping:
            break
    sock.close()  # the workers hold it; once they all close it, connections are refused
    os.close(lifeline)  # parent_end stays open until this process ends, however it ends

    failed = False
    for read_end in children.values():
        try:
            ready = os.read(read_end, 1)
        finally:
            os.close(read_end)
        # End of file: the worker exited before serving (not an error if we are stopping).
        failed = failed or (not ready and not stopping)
    if failed or stopping:
        stop_all()
    else:
        announce()

    status = 1 if failed else 0
    while children:
        try:
            pid, wait_status = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        children.pop(pid, None)
        code = os.waitstatus_to_exitcode(wait_status)
        if not stopping:
            log.error("worker %d exited unexpectedly (status %d); stopping the others", pid, code)
            status = 1
            stop_all()
        elif code not in (0, -signal.SIGTERM, -signal.SIGINT):
            status = status or 1
    return status


def _child(sock: socket.socket, ready_fd: int, lifeline: int, worker: Worker) -> None:
    for sig in _STOP_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)  # the worker's event loop installs its own
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    threading.Thread(target=_watch_parent, args=(lifeline,), daemon=True,
                     name="post3-lifeline").start()

    def ready() -> None:
        os.write(ready_fd, b"1")
        os.close(ready_fd)

    code = 1
    try:
        worker(sock, ready)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt:
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _watch_parent(lifeline: int) -> None:
    """In a worker: block until the parent's end of the lifeline closes, then stop as on
    SIGTERM (before the event loop runs, SIGTERM's default action ends the process)."""
    while True:
        try:
            if not os.read(lifeline, 1):
                break
        except InterruptedError:
            continue
        except OSError:
            return
    os.kill(os.getpid(), signal.SIGTERM)
