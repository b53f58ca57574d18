"""Warn when a deploy's context flags differ from the environment's versioned configuration.

What an environment serves (serving path, engine, front door, sizes) lives in
``mlops_cdk/config/environments.py``, which every automated deploy (``make deploy ENV=...`` in
deploy-environment.yml) reads. A ``-c`` flag given by hand (``SERVING=``, ``SERVING_ENGINE=``,
``DEPLOY_FLAGS='-c front_door=...'``) is fine for a preview or a one-off synth, but a deploy made
with it is reverted by the next automated one. ``make deploy`` runs this first: one visible
warning per flag that differs, naming the setting to change instead. It never blocks a deploy
(invalid values fail synth with their own message).

Usage:
    python -m scripts.deploy_check --env prod -- -c serving_engine=kserve --force
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from mlops_cdk.config import CONTEXT_FIELDS, ConfigError, Settings, load_settings

PER_DEPLOY_KEYS = frozenset(
    {"env", "account", "image_tag", "image_digest", "github_repository", "github_oidc_provider_arn"}
)
"""Context keys that name what is deployed or where, not what the environment serves."""

CONTEXT_KEYS = ("env", "account", "region", *CONTEXT_FIELDS)
"""Every context key the app reads (``mlops_cdk.platform.CONTEXT_KEYS``, without importing CDK)."""

CONFIGURATION_FILE = "mlops_cdk/config/environments.py"


def context_flags(cdk_args: Sequence[str]) -> Iterator[tuple[str, str]]:
    """``(key, value)`` of every ``-c``/``--context`` flag in ``cdk_args``; other flags skipped."""
    args = iter(cdk_args)
    for arg in args:
        if arg in ("-c", "--context"):
            pair = next(args, "")
        elif arg.startswith("--context="):
            pair = arg.removeprefix("--context=")
        elif arg.startswith("-c") and len(arg) > 2:
            pair = arg[2:]
        else:
            continue
        key, separator, value = pair.partition("=")
        if separator:
            yield key, value


def _field(settings: Settings, key: str) -> tuple[str, Any]:
    """The dotted name and value of the setting a context key sets."""
    if key == "region":
        return "region", settings.region
    value: Any = settings
    for name in CONTEXT_FIELDS[key]:
        value = getattr(value, name)
    return ".".join(CONTEXT_FIELDS[key]), value


def _show(value: Any) -> str:
    return ",".join(value) if isinstance(value, tuple) else str(value).lower()


def differences(env_name: str, flags: Sequence[tuple[str, str]]) -> list[str]:
    """One warning per flag whose value differs from the environment's configured value."""
    configured = load_settings({"env": env_name}, environ={})
    warnings: list[str] = []
    for key, value in flags:
        if key.startswith("@") or key in PER_DEPLOY_KEYS:
            continue
        if key not in CONTEXT_KEYS:
            warnings.append(
                f"-c {key}={value} is not a context key the app reads (one of "
                f"{', '.join(CONTEXT_KEYS)}): it is ignored"
            )
            continue
        try:
            flagged = load_settings({"env": env_name, key: value}, environ={})
        except ConfigError as exc:
            warnings.append(f"-c {key}={value} is invalid; synth will fail: {exc.errors[0]}")
            continue
        field, configured_value = _field(configured, key)
        if _field(flagged, key)[1] != configured_value:
            warnings.append(
                f"-c {key}={value} differs from the configured {env_name}.{field} = "
                f"{_show(configured_value)}: the next automated deploy (deploy.yml) reverts it; "
                f"to keep it, set {field} for {env_name} in {CONFIGURATION_FILE}"
            )
    return warnings


def main(argv: list[str] | None = None) -> int:
    """Print the warnings (GitHub annotations in Actions); always exit 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", required=True, help="environment being deployed")
    parser.add_argument("cdk_args", nargs=argparse.REMAINDER, help="-- then the cdk arguments")
    args = parser.parse_args(argv)
    cdk_args = [arg for arg in args.cdk_args if arg != "--"]
    flags = list(context_flags(cdk_args))
    prefix = "::warning::" if os.environ.get("GITHUB_ACTIONS") == "true" else "warning: "
    for warning in differences(args.env, flags):
        print(f"{prefix}make deploy ENV={args.env}: {warning}", file=sys.stderr)
    if not any(key == "image_digest" for key, _ in flags):
        print(
            f"note: make deploy ENV={args.env}: no IMAGE_DIGEST, so the templates reference the "
            "tag; deploy.yml resolves it once (make image-digest) and deploys that digest",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
