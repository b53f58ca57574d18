"""Session-wide fixtures: one synthesis per environment x serving combination."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# Tests must not depend on the machine's AWS profile.
for _var in ("CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION"):
    os.environ.pop(_var, None)

import aws_cdk as cdk  # noqa: E402 - after the environment above
from aws_cdk.assertions import Template  # noqa: E402

from mlops_cdk.config import Settings  # noqa: E402
from mlops_cdk.platform import (  # noqa: E402
    PlatformStacks,
    add_security_checks,
    build_platform,
    settings_from_app,
)

ROOT = Path(__file__).resolve().parents[1]
CDK_JSON_CONTEXT: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
ENVS = ("dev", "staging", "prod")
SERVINGS = ("eks", "sagemaker")


@dataclass
class Synthesized:
    """One synthesized app: its settings, stacks and templates."""

    settings: Settings
    stacks: PlatformStacks
    outdir: Path
    _templates: dict[str, Template] = field(default_factory=dict)

    def template(self, stack: cdk.Stack) -> Template:
        """The stack's synthesized template, read once from the cloud assembly."""
        if stack.stack_name not in self._templates:
            path = self.outdir / f"{stack.artifact_id}.template.json"
            self._templates[stack.stack_name] = Template.from_json(json.loads(path.read_text()))
        return self._templates[stack.stack_name]


def synthesize(outdir: Path, **context: Any) -> Synthesized:
    """Build and synthesize the whole app (with cdk-nag) exactly as ``app.py`` does."""
    app = cdk.App(context={**CDK_JSON_CONTEXT, **context}, outdir=str(outdir))
    settings = settings_from_app(app)
    stacks = build_platform(app, settings)
    add_security_checks(app)
    app.synth()
    return Synthesized(settings=settings, stacks=stacks, outdir=outdir)


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Synthesized]:
    """``synth(env="dev", serving=None, **context)``: synthesized once per session and cached."""
    cache: dict[tuple[tuple[str, Any], ...], Synthesized] = {}

    def get(env: str = "dev", serving: str | None = None, **context: Any) -> Synthesized:
        ctx = {"env": env, **({"serving": serving} if serving else {}), **context}
        key = tuple(sorted(ctx.items()))
        if key not in cache:
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", "-".join(str(v) for _, v in key))[:80]
            cache[key] = synthesize(tmp_path_factory.mktemp(f"cdk-{name}"), **ctx)
        return cache[key]

    return get


@pytest.fixture
def moto_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's fake credentials and us-east-1 for one test: never the machine's AWS profile."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
