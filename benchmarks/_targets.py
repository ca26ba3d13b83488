"""What the bulk-ingestion benchmarks print: figures against their targets, and memory peaks that can be reset.

The machine may be shared: each figure is printed with this process's CPU time beside the wall time, so a
slow wall time on a busy machine can be told from slow code (the targets are judged on wall time).
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass, field
from pathlib import Path

STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (Linux: write 5 to clear_refs); say whether that worked."""
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mib() -> float:
    """Return the peak resident set size since the last reset (VmHWM), else since the process started."""
    try:
        for line in STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


@dataclass
class Stopwatch:
    """Wall and CPU seconds of one step."""

    wall: float = 0.0
    cpu: float = 0.0
    _started: tuple[float, float] = field(default=(0.0, 0.0), repr=False)

    def __enter__(self) -> Stopwatch:
        self._started = (time.perf_counter(), time.process_time())
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._started[0]
        self.cpu = time.process_time() - self._started[1]


@dataclass
class Targets:
    """Collects (what, figure, target, met) and prints them as a table."""

    rows: list[tuple[str, str, str, bool]] = field(default_factory=list)

    def at_least(self, what: str, value: float, target: float, unit: str) -> None:
        """Record a figure that must reach ``target``."""
        self.rows.append((what, f"{value:,.0f} {unit}", f">= {target:,.0f} {unit}", value >= target))

    def below(self, what: str, value: float, target: float, unit: str, digits: int = 0) -> None:
        """Record a figure that must stay under ``target``."""
        self.rows.append(
            (what, f"{value:,.{digits}f} {unit}", f"< {target:,.{digits}f} {unit}", value < target)
        )

    def report(self, database: str) -> bool:
        """Print the table; return whether every target was met."""
        print(f"\ntargets on {database}:")
        for what, figure, target, met in self.rows:
            print(f"  {what:<34} {figure:>16}   target {target:<16} {'met' if met else 'NOT MET'}")
        everything = all(met for *_, met in self.rows)
        print(f"all targets met: {'yes' if everything else 'NO'}")
        return everything
