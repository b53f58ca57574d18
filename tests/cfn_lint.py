"""cfn-lint from this environment over synthesized templates (the gate the CI workflow runs)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

CFN_LINT = Path(sys.executable).parent / "cfn-lint"
# W3005: CDK writes DependsOn that cfn-lint finds redundant; harmless.
IGNORED_CHECKS = ("W3005",)


def cfn_lint(templates: Iterable[Path | str], *, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run cfn-lint in parseable format; exit status non-zero on errors only."""
    return subprocess.run(
        [
            str(CFN_LINT),
            *map(str, templates),
            "--format",
            "parseable",
            "--non-zero-exit-code",
            "error",
            "--ignore-checks",
            *IGNORED_CHECKS,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
