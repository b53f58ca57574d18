"""Fargate pod sizes: the one table config validates against and the cost estimate prices.

Fargate runs each pod on the smallest size (vCPU, memory) that fits its containers' requests
plus its own overhead; see "Pod CPU and memory" in the EKS user guide.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

FARGATE_SIZES: tuple[tuple[float, tuple[float, ...]], ...] = (
    (0.25, (0.5, 1, 2)),
    (0.5, tuple(range(1, 5))),
    (1, tuple(range(2, 9))),
    (2, tuple(range(4, 17))),
    (4, tuple(range(8, 31))),
    (8, tuple(range(16, 61, 4))),
    (16, tuple(range(32, 121, 8))),
)
"""Fargate vCPU sizes and the memory (GB) each allows."""

FARGATE_CPU = ("250m", "500m", "1", "2", "4", "8", "16")
"""CPU requests that map exactly to a Fargate vCPU size (one per row of ``FARGATE_SIZES``)."""

MIN_POD_MEMORY_MIB = 512
MAX_POD_MEMORY_MIB = 120 * 1024
"""The memory a model-server container may request: Fargate's smallest to largest size."""

_CPU_RE = re.compile(r"^(\d+(?:\.\d+)?)(m?)$")
_MEMORY_UNITS_GIB = {
    "Ki": 2**-20,
    "Mi": 2**-10,
    "Gi": 1,
    "Ti": 2**10,
    "K": 1e3 / 2**30,
    "M": 1e6 / 2**30,
    "G": 1e9 / 2**30,
    "": 1 / 2**30,
}
_MEMORY_RE = re.compile(r"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G|)$")


def parse_cpu(value: str | float) -> float:
    """Kubernetes CPU quantity (``500m``, ``1``) in vCPU."""
    match = _CPU_RE.match(str(value))
    if not match:
        raise ValueError(f"CPU quantity {value!r} is not like 500m or 1")
    return float(match[1]) / (1000 if match[2] else 1)


def parse_memory(value: str | float) -> float:
    """Kubernetes memory quantity (``1Gi``, ``512Mi``) in GiB."""
    match = _MEMORY_RE.match(str(value))
    if not match:
        raise ValueError(f"memory quantity {value!r} is not like 512Mi or 1Gi")
    return float(match[1]) * _MEMORY_UNITS_GIB[match[2]]


def round_to_fargate(cpu: float, memory_gb: float) -> tuple[float, float]:
    """The smallest Fargate size with at least ``cpu`` vCPU and ``memory_gb`` GB."""
    for vcpu, memories in FARGATE_SIZES:
        if vcpu + 1e-9 < cpu:
            continue
        for gb in memories:
            if gb + 1e-9 >= memory_gb:
                return vcpu, float(gb)
    raise ValueError(f"no Fargate size fits {cpu} vCPU and {memory_gb} GB")


def pod_size(containers: Iterable[Mapping[str, Any]], overhead_gb: float) -> tuple[float, float]:
    """The Fargate size a pod with these containers gets (requests, else limits)."""
    cpu = memory = 0.0
    for container in containers:
        resources = container.get("resources", {})
        wanted = {**resources.get("limits", {}), **resources.get("requests", {})}
        cpu += parse_cpu(wanted.get("cpu", "250m"))
        memory += parse_memory(wanted.get("memory", "512Mi"))
    return round_to_fargate(cpu, memory + overhead_gb)
