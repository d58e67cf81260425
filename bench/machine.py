"""What the benchmark ran on: CPU, memory, PostgreSQL and Python versions."""

import os
import platform
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Machine:
    cpu_model: str
    cores: int
    memory_gib: float
    os: str
    python: str
    postgresql: str
    load_average: float  # over the last minute, as the measurements ended

    def markdown_lines(self) -> list[str]:
        """The machine as a Markdown list, for the standalone benchmarks' pages."""
        return [
            f"- CPU: {self.cpu_model} ({self.cores} cores, shared)",
            f"- Memory: {self.memory_gib:.1f} GiB",
            f"- OS: {self.os}; Python {self.python}; PostgreSQL {self.postgresql}",
            f"- Load average at the end: {self.load_average:.2f}",
            "",
        ]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def describe(postgresql_version: str) -> Machine:
    return Machine(
        cpu_model=_cpu_model(),
        cores=os.cpu_count() or 1,
        memory_gib=_memory_gib(),
        os=platform.platform(),
        python=platform.python_version(),
        postgresql=postgresql_version,
        load_average=os.getloadavg()[0],
    )
