"""The advisor: measures the user's own network on every device and batch size and
recommends the fastest (``gpu-trainer advise``, the app's "Find the fastest settings").

Joins :mod:`engine.run` (the same model and trainer a run builds) and :mod:`engine.hardware`
(NVML utilisation). See docs/CONTRACTS.md, "Advisor".
"""

from __future__ import annotations

from engine.advisor.advice import (
    NEAR_BEST,
    Advice,
    Cell,
    duration_text,
    memory_text,
    rate_text,
    util_text,
)
from engine.advisor.devices import AdvisorDevice, available_devices, cpu_device, gpu_device
from engine.advisor.measure import (
    DEFAULT_BUDGET_S,
    OUT_OF_MEMORY,
    AdvisorState,
    Progress,
    advise,
    batch_ladder,
)

__all__ = [
    "DEFAULT_BUDGET_S",
    "NEAR_BEST",
    "OUT_OF_MEMORY",
    "Advice",
    "AdvisorDevice",
    "AdvisorState",
    "Cell",
    "Progress",
    "advise",
    "available_devices",
    "batch_ladder",
    "cpu_device",
    "duration_text",
    "gpu_device",
    "memory_text",
    "rate_text",
    "util_text",
]
