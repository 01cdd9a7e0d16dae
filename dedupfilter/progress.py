"""Progress on a terminal: documents/s and ETA on stderr, silent in pipes and with --json."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, label: str, total: int | None = None, unit: str = "docs",
                 enabled: bool | None = None, stream=None, interval: float = 0.2):
        self.stream = stream or sys.stderr
        self.enabled = (self.stream.isatty() if enabled is None else enabled)
        self.label, self.total, self.unit, self.interval = label, total, unit, interval
        self.count = 0
        self.started = time.monotonic()
        self._last_draw = 0.0

    def update(self, n: int = 1) -> None:
        self.count += n
        now = time.monotonic()
        if self.enabled and now - self._last_draw >= self.interval:
            self._last_draw = now
            self._draw(now)

    def _draw(self, now: float, final: bool = False) -> None:
        elapsed = max(now - self.started, 1e-9)
        rate = self.count / elapsed
        line = f"{self.label}: {self.count:,}"
        if self.total:
            line += f"/{self.total:,} ({100 * self.count / self.total:.0f}%)"
        line += f" {self.unit}, {rate:,.0f} {self.unit}/s"
        if self.total and not final and rate > 0:
            line += f", ETA {max(self.total - self.count, 0) / rate:.0f} s"
        if final:
            line += f", {elapsed:.1f} s"
        self.stream.write("\r\x1b[2K" + line + ("\n" if final else ""))
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(time.monotonic(), final=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
