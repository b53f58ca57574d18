"""Docs that run: every ```python snippet in README.md and docs/*.md executes against the code.

Each snippet runs in a fresh scratch app, then the app is synthesized, so a renamed argument, a
missing required one, a clashing construct id or an invalid value fails here instead of on a
reader's machine. Snippets may use these scratch names, created only when a snippet names them:
``app``, ``stack`` (account 123456789012, eu-west-1), ``vpc``, ``bucket``, ``repo``,
``some_role``, ``some_function``, ``internal_listener`` (an internal ALB's listener) and
``link`` (an HTTP API VPC link). A snippet that cannot run (an excerpt of ``app.py``'s wiring)
starts with ``# not run: <why>``; it must still compile.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3

from tests.conftest import ROOT

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NOT_RUN = re.compile(r"^# not run: (?P<why>\S.*)$")
SCRATCH_ENV = cdk.Environment(account="123456789012", region="eu-west-1")
SCRATCH_ZONES = ["eu-west-1a", "eu-west-1b"]


@dataclass(frozen=True)
class Snippet:
    """One fenced ```python block."""

    path: Path
    line: int
    code: str

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def not_run_reason(self) -> str | None:
        match = NOT_RUN.match(self.code.splitlines()[0]) if self.code.strip() else None
        return match["why"] if match else None


def snippets() -> list[Snippet]:
    """Every ```python block of the README and docs/, with the line it starts on."""
    found = []
    for path in DOCUMENTS:
        text = path.read_text()
        for match in re.finditer(r"^```python\n(.*?)^```$", text, re.S | re.M):
            line = text.count("\n", 0, match.start()) + 2
            found.append(Snippet(path, line, match[1]))
    return found


def _listener(names: dict[str, Any]) -> elbv2.ApplicationListener:
    balancer = elbv2.ApplicationLoadBalancer(
        names["stack"], "ScratchAlb", vpc=names["vpc"], internet_facing=False
    )
    return balancer.add_listener(
        "Listener",
        port=80,
        open=False,
        default_action=elbv2.ListenerAction.fixed_response(404),
    )


SCRATCH: dict[str, Callable[[dict[str, Any]], Any]] = {
    "vpc": lambda names: ec2.Vpc(names["stack"], "ScratchVpc", availability_zones=SCRATCH_ZONES),
    "bucket": lambda names: s3.Bucket(names["stack"], "ScratchBucket"),
    "repo": lambda names: ecr.Repository(names["stack"], "ScratchRepository"),
    "some_role": lambda names: iam.Role(
        names["stack"], "SomeRole", assumed_by=iam.AccountRootPrincipal()
    ),
    "some_function": lambda names: lambda_.Function(
        names["stack"],
        "SomeFunction",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
    ),
    "internal_listener": _listener,
    "link": lambda names: apigwv2.VpcLink(names["stack"], "ScratchLink", vpc=names["vpc"]),
}
"""Scratch resources, in dependency order, made only for the snippets that name them."""


def scratch_names(code: str) -> dict[str, Any]:
    """``app`` and ``stack``, plus each scratch resource ``code`` (or one it needs) names."""
    app = cdk.App()
    names: dict[str, Any] = {"app": app, "stack": cdk.Stack(app, "Scratch", env=SCRATCH_ENV)}
    wanted = {name for name in SCRATCH if re.search(rf"\b{name}\b", code)}
    if wanted & {"internal_listener", "link"}:
        wanted.add("vpc")
    for name, make in SCRATCH.items():
        if name in wanted:
            names[name] = make(names)
    return names


ALL = snippets()


def test_the_docs_have_python_snippets_and_every_skip_says_why():
    assert len(ALL) >= 5, [snippet.name for snippet in ALL]
    for snippet in ALL:
        first = snippet.code.splitlines()[0] if snippet.code.strip() else ""
        if first.startswith("# not run"):
            assert snippet.not_run_reason, f"{snippet.name}: '# not run: <why>' needs a reason"


@pytest.mark.parametrize("snippet", ALL, ids=lambda snippet: snippet.name)
def test_every_snippet_compiles(snippet):
    compile(snippet.code, snippet.name, "exec")


@pytest.mark.parametrize("snippet", ALL, ids=lambda snippet: snippet.name)
def test_every_snippet_is_ruff_formatted(snippet):
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", "snippet.py", "-"],
        input=snippet.code,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    assert formatted == snippet.code, f"{snippet.name}: format it as ruff does"


@pytest.mark.parametrize(
    "snippet",
    [snippet for snippet in ALL if snippet.not_run_reason is None],
    ids=lambda snippet: snippet.name,
)
def test_every_snippet_runs_and_synthesizes(snippet):
    names = scratch_names(snippet.code)
    exec(compile(snippet.code, snippet.name, "exec"), names)
    names["app"].synth()


def test_a_drifted_snippet_fails():
    """The runner is not vacuous: a snippet with an argument the construct lacks fails."""
    code = (
        "from mlops_cdk.constructs import ModelImageRepository\n"
        'ModelImageRepository(stack, "Images", keep_images=5)\n'
    )
    with pytest.raises(TypeError, match="keep_images"):
        test_every_snippet_runs_and_synthesizes(Snippet(ROOT / "drifted.md", 1, code))
