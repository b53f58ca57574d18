"""Evaluation gate: decide whether a candidate model may become the challenger.

A candidate that passes is the ``challenger``; it becomes ``champion`` only when prod promotes it
(``fraud_model.promotion``).
"""

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class GateConfig:
    """Thresholds a candidate must meet.

    Attributes:
        min_roc_auc: Lowest acceptable ROC AUC on the held-out test set.
        min_pr_auc: Lowest acceptable PR AUC (average precision); the metric that matters under
            heavy class imbalance, so it is also the one compared with the champion.
        max_regression: How much lower than the champion's PR AUC, on the same test set, the
            candidate's may be. 0 means "not worse".
    """

    min_roc_auc: float = 0.90
    min_pr_auc: float = 0.60
    max_regression: float = 0.0

    def __post_init__(self) -> None:
        """Reject values outside their range, naming each field."""
        errors = [
            f"{name} = {value}; use a value in [0, 1]"
            for name, value in vars(self).items()
            if not 0.0 <= value <= 1.0
        ]
        if errors:
            raise ValueError("invalid gate configuration: " + "; ".join(errors))


@dataclass(frozen=True)
class GateResult:
    """Outcome of the gate: ``passed`` and, when it did not, every reason why."""

    passed: bool
    reasons: tuple[str, ...]

    def message(self) -> str:
        """One line for logs and registry tags."""
        if self.passed:
            return "passed the evaluation gate"
        return "failed the evaluation gate: " + "; ".join(self.reasons)


def evaluate_gate(
    candidate: Mapping[str, float],
    champion: Mapping[str, float] | None,
    config: GateConfig,
    *,
    champion_version: str | None = None,
    champion_basis: str = "on the same test set",
) -> GateResult:
    """Check the candidate's metrics against the minimums and the current champion.

    Args:
        candidate: The candidate's ``roc_auc`` and ``pr_auc`` on the test set.
        champion: The champion's metrics, or None when there is none yet.
        config: The thresholds.
        champion_version: The champion's registry version, quoted in the reasons.
        champion_basis: Where the champion's metrics come from, quoted in the reasons: scored
            on the same test set (registry), or as recorded when it was promoted.

    Returns:
        The result, with all failed checks listed.
    """
    reasons = []
    if candidate["roc_auc"] < config.min_roc_auc:
        reasons.append(
            f"roc_auc = {candidate['roc_auc']:.4f} is below the minimum {config.min_roc_auc:.4f}"
            " (--min-roc-auc)"
        )
    if candidate["pr_auc"] < config.min_pr_auc:
        reasons.append(
            f"pr_auc = {candidate['pr_auc']:.4f} is below the minimum {config.min_pr_auc:.4f}"
            " (--min-pr-auc)"
        )
    if champion is not None and candidate["pr_auc"] < champion["pr_auc"] - config.max_regression:
        reasons.append(
            f"pr_auc = {candidate['pr_auc']:.4f} is worse than the champion's"
            f" {champion['pr_auc']:.4f} (version {champion_version}) {champion_basis}"
            f" (allowed regression {config.max_regression:.4f}, --max-regression)"
        )
    return GateResult(passed=not reasons, reasons=tuple(reasons))
