"""Handing freed heap memory back to the operating system (glibc only).

Every object byte moved through PostgreSQL passes through short-lived buffers of 256 KiB to
1 MiB: socket reads, protocol messages, ``bytea`` values, request bodies. glibc serves them from
its heap and keeps what is freed resident for reuse, but under many concurrent transfers the mix
of sizes and lifetimes fragments it: 64 concurrent 8 MiB part uploads left 40-50 MB free and
still resident beside 85-90 MB in use (188 MB of server RSS, 181 MB still after the upload).
``malloc_trim`` returns the free pages. Looking twice a second, and trimming a process over
112 MiB whenever 16 MiB more sit free and resident than after the last trim, the same upload
peaked at 153-164 MB (noisy runs) and a process left idle after it shrinks to ~110 MB. Mapping
each large buffer anew instead (a fixed ``M_MMAP_THRESHOLD``) measured ~0.5 ms per MiB, several
times the cost of the copies themselves.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os

log = logging.getLogger(__name__)

#: Seconds between looks at the heap.
TRIM_PERIOD = 0.5
#: Free resident heap bytes worth trimming: below this, what a trim returns is soon taken
#: again.
TRIM_ABOVE = 16 << 20
#: Resident bytes below which the process is left alone: pages a trim returns are faulted in
#: again when the heap is reused, which cost a lone 64 MiB GET or PUT 6-13% more server CPU
#: per MiB when trimmed at any size; such a transfer keeps the process well below this.
TRIM_FROM = 112 << 20


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None)
        libc.mallinfo2.restype = _MallInfo2
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        open("/proc/self/statm", "rb").close()
    except (OSError, AttributeError):  # not glibc 2.33 or later on Linux
        return None
    return libc


_LIBC = _glibc()
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _resident_and_not_in_use() -> tuple[int, int]:
    """Resident bytes, and those the heap does not use: code, libraries, free heap pages."""
    assert _LIBC is not None
    info = _LIBC.mallinfo2()
    with open("/proc/self/statm", "rb") as statm:
        resident = int(statm.read().split()[1]) * _PAGE
    return resident, resident - int(info.uordblks) - int(info.hblkhd)


class Trimmer:
    """Trims when the process holds more than TRIM_FROM and TRIM_ABOVE more bytes sit free
    and resident than after the last trim.

    (glibc counts a trimmed free page as free all the same, so the heap's free bytes alone
    cannot tell whether a trim would return anything.)
    """

    def __init__(self) -> None:
        self._floor: int | None = None

    def trim_if_worth_it(self) -> bool:
        if _LIBC is None:
            return False
        resident, not_in_use = _resident_and_not_in_use()
        if resident < TRIM_FROM:
            return False
        if self._floor is not None and not_in_use - self._floor < TRIM_ABOVE:
            return False
        _LIBC.malloc_trim(0)
        self._floor = _resident_and_not_in_use()[1]
        return True


async def trim_periodically() -> None:
    if _LIBC is None:
        return
    trimmer = Trimmer()
    while True:
        await asyncio.sleep(TRIM_PERIOD)
        try:
            # In a thread: a trim of a large fragmented heap took up to 40 ms.
            await asyncio.to_thread(trimmer.trim_if_worth_it)
        except Exception:
            log.warning("returning free memory to the system failed", exc_info=True)
