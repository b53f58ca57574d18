"""Check the values of make variables before any recipe runs (no shell injection through make).

The Makefile calls this while it is parsed, with every checked variable as one single-quoted
``NAME=value`` argument (its unexpanded text, so ``$(shell ...)`` in a value is never run), and
stops with the message unless it prints exactly ``ok``. Workflows validate ``workflow_dispatch``
inputs the same way: ``make check-vars IMAGE_TAG="$IMAGE_TAG"``.

Standard library only: it runs with the system Python, before ``make setup``.
"""

from __future__ import annotations

import re
import sys

_PATH = (r"^[A-Za-z0-9_.,/+=@-]*$", "a path of letters, digits and _ . , / + = @ -")
_FLAGS = (
    r"^[A-Za-z0-9_.,/:=@ -]*$",
    "space-separated flags of letters, digits and _ . , / : = @ -",
)

PATTERNS: dict[str, tuple[str, str]] = {
    "ENV": (r"^(dev|staging|prod)$", "dev, staging or prod"),
    "SERVING": (r"^(eks|sagemaker)?$", "eks, sagemaker or empty (the environment's default)"),
    "IMAGE_TAG": (
        r"^([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$",
        "an image tag: letters, digits, _ . - (max 128, not starting with . or -), e.g. abc1234-m3",
    ),
    "CANARY_IMAGE_TAG": (
        r"^([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$",
        "an image tag: letters, digits, _ . - (max 128, not starting with . or -), e.g. abc1234-m3",
    ),
    "MODEL_VERSION": (
        r"^([1-9][0-9]{0,9})?$",
        "a model version: 1-10 digits, no leading zero (the N of -mN), e.g. 12",
    ),
    "CANARY_PERCENT": (r"^(100|[1-9]?[0-9])?$", "a whole percent from 0 to 100, or empty"),
    "MINUTES": (r"^[1-9][0-9]{0,3}$", "a whole number of minutes from 1, e.g. 15"),
    "WAIT": (r"^(true|false)?$", "true, false or empty"),
    "CANARY_FLAGS": _FLAGS,
    "SERVING_ENGINE": (
        r"^(deployment|kserve)?$",
        "deployment, kserve or empty (the environment's)",
    ),
    "IMAGE_DIGEST": (r"^(sha256:[0-9a-f]{64})?$", "sha256:<64 lowercase hex digits> or empty"),
    "IMAGE": (
        r"^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$",
        "an image reference <registry>/<repository>:<tag>, e.g. model-server:dev",
    ),
    "GITHUB_REPOSITORY": (r"^([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)?$", "owner/name, e.g. acme/fraud"),
    "GITHUB_OIDC_PROVIDER_ARN": (
        r"^(arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/token\.actions\.githubusercontent\.com)?$",
        "arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com",
    ),
    "GITHUB_BIND_WORKFLOW": (r"^(true|false)?$", "true, false or empty"),
    "URL": (
        r"""^(https?://[^\s'"`$;|&<>\\]+)?$""",
        "an http(s) URL without spaces, quotes or any of ` $ ; | & < > \\",
    ),
    "OUTPUTS": _PATH,
    "DEST": _PATH,
    "MODEL_DATA": _PATH,
    "GATE_REPORT": _PATH,
    "CAPTURE": _PATH,
    "BASELINE": _PATH,
    "INPUT_PREFIX": _PATH,
    "FORMAT": (r"^[a-z]*$", "a format name, e.g. text or json"),
    "PORT": (r"^[0-9]{1,5}$", "a port number, e.g. 8080"),
    "HOST": (r"^[A-Za-z0-9.:-]*$", "a host name or address, e.g. 127.0.0.1"),
    "CAPTURE_PERCENT": (r"^([0-9]{1,3})?$", "a whole percentage 0-100, e.g. 20"),
    "SMOKE_FLAGS": _FLAGS,
    "DEPLOY_FLAGS": _FLAGS,
}
"""Each variable make passes on to a command: the pattern its value must match, and what that is."""


def problems(assignments: list[str]) -> list[str]:
    """One message per ``NAME=value`` whose value does not match ``PATTERNS[NAME]``."""
    found = []
    for assignment in assignments:
        name, separator, value = assignment.partition("=")
        if not separator or name not in PATTERNS:
            found.append(
                f"{assignment!r}: not NAME=value of a checked variable ({', '.join(PATTERNS)})"
            )
            continue
        pattern, expected = PATTERNS[name]
        if re.fullmatch(pattern, value) is None:
            found.append(f"{name} = {value!r}: must be {expected}; nothing was run")
    return found


def main(argv: list[str]) -> int:
    """Print ``ok`` (exit 0) or every problem on one line (exit 2), for make's ``$(shell)``."""
    found = problems(argv)
    print(" | ".join(found) if found else "ok")
    return 2 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
