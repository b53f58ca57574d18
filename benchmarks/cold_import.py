"""Cold import of a Lambda handler module: a lower bound on the function's init phase.

Shared by the Lambda benchmarks: each sample imports the module in a fresh interpreter, from the
repository root, as a Lambda cold start does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import time
start = time.perf_counter_ns()
import {module}
print(time.perf_counter_ns() - start)
"""


def cold_import_ms(module: str, runs: int, env: Mapping[str, str] | None = None) -> list[float]:
    """Milliseconds to import ``module`` in each of ``runs`` fresh interpreters.

    Args:
        module: Dotted module name, e.g. ``mlops_cdk.lambdas.predict_proxy.handler``.
        runs: How many interpreters to start.
        env: Variables set on top of this process's environment.
    """
    return [
        int(
            subprocess.run(
                [sys.executable, "-c", PROBE.format(module=module)],
                cwd=ROOT,
                env={**os.environ, **(env or {})},
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        / 1e6
        for _ in range(runs)
    ]
