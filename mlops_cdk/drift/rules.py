"""The drift check's settings rules, shared by the construct and the configuration."""

from __future__ import annotations


def drift_check_problems(
    *, threshold: float, min_rows: int, window_hours: int, schedule: str | None = None
) -> list[str]:
    """Problems of the check's own settings, each ``<name> = <value>: <what>; <fix>``.

    The one home of these rules: ``DriftMonitor`` (``validate_drift_monitor``) and the ``drift``
    settings section (``mlops_cdk.config``) both report them. Pure Python, so the settings can
    import it without the construct library.
    """
    problems: list[str] = []
    if not 0 < threshold < 10:
        problems.append(
            f"threshold = {threshold!r}: must be in (0, 10); use a PSI of 0.1-0.25 (default 0.2)"
        )
    if min_rows < 1:
        problems.append(f"min_rows = {min_rows!r}: must be >= 1; use e.g. 200 (the default)")
    if not 1 <= window_hours <= 24:
        problems.append(
            f"window_hours = {window_hours!r}: must be 1-24; match it to the schedule (default 1)"
        )
    if schedule is not None and not schedule.startswith(("cron(", "rate(")):
        problems.append(
            f"schedule = {schedule!r}: is not an EventBridge Scheduler cron or rate "
            "expression; use e.g. cron(10 * * * ? *)"
        )
    return problems
