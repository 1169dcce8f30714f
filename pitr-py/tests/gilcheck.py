"""How the tests see that a call releases the GIL: a thread that records a
tick every few hundred microseconds; a call that held the GIL throughout
would see none between its start and its end."""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import List, Optional, Type


class Ticker:
    def __init__(self, interval: float = 0.0005) -> None:
        self.interval = interval
        self.ticks: List[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.ticks.append(time.monotonic())
            time.sleep(self.interval)

    def __enter__(self) -> "Ticker":
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self._stop.set()
        self._thread.join()

    def between(self, start: float, end: float) -> int:
        """The ticks recorded strictly between two `time.monotonic()` readings."""
        return len([x for x in self.ticks if start < x < end])

    def inside(self, start: float, end: float) -> int:
        """The ticks between two readings taken just before and just after a
        call, less the two that can slip in around a call holding the GIL
        throughout: the interpreter hands the GIL to a waiting ticker at the
        bytecode just before the call and just after it. Above zero, the
        ticker ran during the call itself."""
        return max(0, self.between(start, end) - 2)
