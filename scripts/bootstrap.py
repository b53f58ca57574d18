"""Bootstrap one environment with its own qualifier, execution policy and permissions boundary.

    python -m scripts.bootstrap policy --env dev      # print the execution policy (review it)
    python -m scripts.bootstrap bootstrap --env dev   # create both policies, then cdk bootstrap

Both synthesize the environment with each serving path and derive the policies from those
templates (``mlops_cdk.bootstrap``), so switching ``serving`` needs no new bootstrap.
``bootstrap`` runs with an administrator's credentials (see docs/cicd.md, "Bootstrap").
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

ROOT = Path(__file__).resolve().parents[1]

import aws_cdk as cdk  # noqa: E402 - after the environment above

from mlops_cdk.bootstrap import (  # noqa: E402
    BootstrapTarget,
    bootstrap_command,
    boundary_name,
    boundary_policy,
    execution_policy,
    execution_policy_name,
)
from mlops_cdk.config import ENVIRONMENTS, ConfigError, Settings, load_settings  # noqa: E402
from mlops_cdk.platform import build_platform, settings_from_app  # noqa: E402

SERVINGS = ("eks", "sagemaker")
MAX_POLICY_VERSIONS = 5
"""IAM keeps at most five versions of a managed policy."""


def synthesized_templates(context: dict[str, Any]) -> tuple[Settings, list[dict[str, Any]]]:
    """Settings and every template of the environment, synthesized once per serving path.

    Raises:
        ConfigError: Invalid settings, or ``cicd.permissions_boundary`` turned off.
    """
    cdk_context = json.loads((ROOT / "cdk.json").read_text())["context"]
    settings = load_settings(context)
    if not settings.cicd.permissions_boundary:
        raise ConfigError(
            [
                f"{settings.env_name}.cicd.permissions_boundary = False: this bootstrap requires "
                "the boundary on every role; set it to True, or bootstrap by hand"
            ]
        )
    templates: list[dict[str, Any]] = []
    for serving in SERVINGS:
        with tempfile.TemporaryDirectory(prefix="bootstrap-") as outdir:
            app = cdk.App(context={**cdk_context, **context, "serving": serving}, outdir=outdir)
            build_platform(app, settings_from_app(app))
            app.synth()
            templates += [
                json.loads(path.read_text())
                for path in sorted(Path(outdir).glob("*.template.json"))
            ]
    return settings, templates


def ensure_managed_policy(iam: Any, target: BootstrapTarget, name: str, document: dict) -> str:
    """Create the customer-managed policy ``name``, or make ``document`` its default version.

    An unchanged document adds no version; IAM keeps five, so the oldest one goes first.
    """
    arn = target.policy_arn(name)
    text = json.dumps(document, separators=(",", ":"))
    try:
        default_version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    except iam.exceptions.NoSuchEntityException:
        iam.create_policy(
            PolicyName=name,
            PolicyDocument=text,
            Description=f"mlops-cdk bootstrap {target.qualifier}: see docs/cicd.md",
        )
        return arn
    current = iam.get_policy_version(PolicyArn=arn, VersionId=default_version)["PolicyVersion"]
    if current["Document"] == document:
        return arn
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    if len(versions) >= MAX_POLICY_VERSIONS:
        oldest = min(
            (version for version in versions if not version["IsDefaultVersion"]),
            key=lambda version: version["CreateDate"],
        )
        iam.delete_policy_version(PolicyArn=arn, VersionId=oldest["VersionId"])
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=text, SetAsDefault=True)
    return arn


def install_policies(iam: Any, target: BootstrapTarget, templates: list[dict]) -> list[str]:
    """Create or update the boundary, then the execution policy; return the bootstrap command."""
    ensure_managed_policy(
        iam, target, boundary_name(target.qualifier), boundary_policy(templates, target)
    )
    ensure_managed_policy(
        iam, target, execution_policy_name(target.qualifier), execution_policy(templates, target)
    )
    return bootstrap_command(target)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``policy`` or ``bootstrap``; 1 on a configuration or generation error."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("policy", "bootstrap"))
    parser.add_argument("--env", required=True, choices=tuple(ENVIRONMENTS))
    parser.add_argument("--account", help="12-digit account (default: the caller's, via STS)")
    parser.add_argument("--region", help="default: the environment's region")
    args = parser.parse_args(argv)
    context = {"env": args.env}
    if args.region:
        context["region"] = args.region
    session, partition = None, "aws"
    if args.command == "bootstrap":
        import boto3

        session = boto3.Session()
        caller = session.client("sts").get_caller_identity()
        args.account = args.account or caller["Account"]
        partition = caller["Arn"].split(":")[1]
    if args.account:
        context["account"] = args.account
    try:
        settings, templates = synthesized_templates(context)
        target = BootstrapTarget.from_settings(settings, partition)
        if session is None:
            print(json.dumps(execution_policy(templates, target), indent=2))
            return 0
        command = install_policies(session.client("iam"), target, templates)
    except ValueError as error:  # ConfigError too
        print(error, file=sys.stderr)
        return 1
    print("+", " ".join(command), file=sys.stderr)
    return subprocess.run(command, cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
