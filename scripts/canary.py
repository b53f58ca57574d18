"""Progressive delivery of one environment: plan the release, judge the canary, show its state.

    python -m scripts.canary plan --env prod --new-tag <tag>
    python -m scripts.canary analyze --env prod --minutes 15 [--wait] [--expect-tag <tag>]
    python -m scripts.canary status --env prod

``plan`` says how the new tag is released: ``canary`` (EKS with a stable tag deployed: the new tag
runs beside it), ``blue-green`` (SageMaker does its own canary traffic and alarm rollback) or
``direct`` (first deploy, or the same tag again). ``analyze`` on EKS reads the canary target
group's ``HTTPCode_Target_5XX_Count``/``RequestCount`` and ``TargetResponseTime`` p99 over the
last ``--minutes`` (``--wait`` first waits that long, stopping early if a canary alarm fires) and
compares them with ``observability.error_rate_percent`` and ``observability.p99_latency_ms``; on
SageMaker it waits for the endpoint to be in service and checks it serves ``--expect-tag``. Both
print a verdict JSON and exit 1 saying why when the release must not go on. ``status`` prints both
tags, the listener's weights and the alarm states.

In CI the deploy role reads through the ``cdk bootstrap`` lookup role (``--assume-lookup-role``:
read-only, and already assumable by that role), so no new permission is needed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.exceptions import ClientError, WaiterError

from mlops_cdk.canary import ALARM_KINDS, canary_alarm_name
from mlops_cdk.config import ConfigError, Settings, load_settings

ALB_NAMESPACE = "AWS/ApplicationELB"
PERIOD_SECONDS = 60
NO_CANARY = "none"
"""``CanaryImageTag`` output of a stack without a canary."""


@dataclass(frozen=True)
class Thresholds:
    """When a canary fails: above either limit, or with too little traffic to judge."""

    error_rate_percent: float
    p99_latency_ms: float
    min_requests: int = 1


@dataclass(frozen=True)
class CanaryMetrics:
    """The canary target group's traffic over the window (p99 ``None`` without requests)."""

    requests: float
    errors_5xx: float
    p99_seconds: float | None


# -- pure decisions ----------------------------------------------------------------------------


def release_plan(*, serving: str, stable_tag: str | None, new_tag: str) -> dict[str, str]:
    """How ``new_tag`` is released, and why."""
    if serving != "eks":
        return {
            "mode": "blue-green",
            "reason": "SageMaker shifts canary traffic and rolls back on alarms itself",
        }
    if not stable_tag:
        return {"mode": "direct", "reason": "no stable tag is deployed yet: nothing to compare"}
    if stable_tag == new_tag:
        return {"mode": "direct", "reason": f"{new_tag} is already the stable tag"}
    return {"mode": "canary", "reason": f"{new_tag} runs as a canary beside {stable_tag}"}


def judge(metrics: CanaryMetrics, thresholds: Thresholds, minutes: int) -> dict[str, Any]:
    """The verdict on a canary's window: ``passed`` and the ``reasons`` it failed."""
    reasons = []
    rate = 100 * metrics.errors_5xx / metrics.requests if metrics.requests else 0.0
    p99_ms = None if metrics.p99_seconds is None else metrics.p99_seconds * 1000
    if metrics.requests < thresholds.min_requests:
        reasons.append(
            f"the canary served {metrics.requests:.0f} requests in {minutes} min (fewer than "
            f"{thresholds.min_requests}): not enough traffic to judge; raise CANARY_MINUTES or "
            "the canary percent, or promote by hand after checking it"
        )
    if rate > thresholds.error_rate_percent:
        reasons.append(
            f"5xx rate {rate:.2f}% ({metrics.errors_5xx:.0f} of {metrics.requests:.0f}) is above "
            f"{thresholds.error_rate_percent}% (observability.error_rate_percent)"
        )
    if p99_ms is not None and p99_ms > thresholds.p99_latency_ms:
        reasons.append(
            f"p99 target response time {p99_ms:.0f} ms is above {thresholds.p99_latency_ms:.0f} "
            "ms (observability.p99_latency_ms)"
        )
    return {
        "passed": not reasons,
        "reasons": reasons,
        "window_minutes": minutes,
        "requests": metrics.requests,
        "errors_5xx": metrics.errors_5xx,
        "error_rate_percent": round(rate, 3),
        "p99_ms": None if p99_ms is None else round(p99_ms, 1),
        "thresholds": asdict(thresholds),
    }


def listener_weights(rules: Sequence[Mapping[str, Any]], canary_group: str | None) -> list[dict]:
    """Target groups and weights of the listener's forward actions (``track`` by name).

    ``canary_group`` is the canary target group's full name (``targetgroup/<name>/<id>``), the
    tail of its ARN; every other group is the stable one.
    """
    weights = []
    for rule in rules:
        for action in rule.get("Actions", []):
            if action.get("Type") != "forward":
                continue
            groups = action.get("ForwardConfig", {}).get("TargetGroups") or [
                {"TargetGroupArn": action["TargetGroupArn"], "Weight": 1}
            ]
            for group in groups:
                arn = group["TargetGroupArn"]
                is_canary = bool(canary_group) and arn.endswith(f":{canary_group}")
                weights.append(
                    {
                        "target_group": arn,
                        "track": "canary" if is_canary else "stable",
                        "weight": group.get("Weight", 1),
                    }
                )
    return weights


# -- AWS reads ---------------------------------------------------------------------------------


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    """The stack's outputs by key; ``{}`` if the stack does not exist."""
    try:
        (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            return {}
        raise
    return {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}


def read_metrics(
    cloudwatch: Any, *, load_balancer: str, target_group: str, start: datetime, end: datetime
) -> CanaryMetrics:
    """The canary target group's requests, 5xx and p99 over ``start``-``end``.

    Minute datapoints: counts are summed; the window's p99 is the highest minute p99 (an upper
    bound of the true one, so the check errs on the side of rolling back).
    """
    dimensions = [
        {"Name": "LoadBalancer", "Value": load_balancer},
        {"Name": "TargetGroup", "Value": target_group},
    ]
    queries = [
        ("requests", "RequestCount", "Sum"),
        ("errors", "HTTPCode_Target_5XX_Count", "Sum"),
        ("p99", "TargetResponseTime", "p99"),
    ]
    values: dict[str, list[float]] = {query_id: [] for query_id, _, _ in queries}
    paginator = cloudwatch.get_paginator("get_metric_data")
    pages = paginator.paginate(
        MetricDataQueries=[
            {
                "Id": query_id,
                "MetricStat": {
                    "Metric": {
                        "Namespace": ALB_NAMESPACE,
                        "MetricName": name,
                        "Dimensions": dimensions,
                    },
                    "Period": PERIOD_SECONDS,
                    "Stat": stat,
                },
            }
            for query_id, name, stat in queries
        ],
        StartTime=start,
        EndTime=end,
    )
    for page in pages:
        for result in page["MetricDataResults"]:
            values[result["Id"]] += [float(value) for value in result["Values"]]
    return CanaryMetrics(
        requests=sum(values["requests"]),
        errors_5xx=sum(values["errors"]),
        p99_seconds=max(values["p99"]) if values["p99"] else None,
    )


def alarm_states(cloudwatch: Any, names: Sequence[str] = (), prefix: str = "") -> dict[str, str]:
    """``{alarm name: state}`` of the named alarms, or of the alarms named ``prefix*``."""
    query = {"AlarmNames": list(names)} if names else {"AlarmNamePrefix": prefix}
    states = {}
    for page in cloudwatch.get_paginator("describe_alarms").paginate(**query):
        for alarm in page["MetricAlarms"] + page.get("CompositeAlarms", []):
            states[alarm["AlarmName"]] = alarm["StateValue"]
    return states


def watch_alarms(
    cloudwatch: Any, names: Sequence[str], minutes: int, sleep: Callable[[float], None]
) -> str | None:
    """Wait ``minutes``, checking the alarms each minute; the first one in ALARM, else ``None``."""
    for minute in range(1, minutes + 1):
        sleep(60)
        firing = sorted(
            name for name, state in alarm_states(cloudwatch, names).items() if state == "ALARM"
        )
        if firing:
            return f"alarm {firing[0]} went to ALARM after {minute} min"
    return None


def endpoint_outcome(
    sagemaker: Any, endpoint_name: str, expected_tag: str | None, max_minutes: int
) -> dict[str, Any]:
    """Wait for the endpoint to be in service; ``passed`` if it serves ``expected_tag``.

    SageMaker's blue/green update shifts canary traffic and rolls back on its alarms by itself:
    an endpoint in service on the old image means it rolled the new one back.
    """
    reasons = []
    try:
        sagemaker.get_waiter("endpoint_in_service").wait(
            EndpointName=endpoint_name,
            WaiterConfig={"Delay": 30, "MaxAttempts": max(1, max_minutes * 2)},
        )
    except WaiterError as error:
        reasons.append(f"endpoint {endpoint_name} is not in service: {error}")
    endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    image = model.get("PrimaryContainer", {}).get("Image", "")
    if endpoint.get("FailureReason"):
        reasons.append(f"SageMaker reports: {endpoint['FailureReason']}")
    if expected_tag and not image.endswith(f":{expected_tag}"):
        reasons.append(
            f"the endpoint serves {image}, not :{expected_tag}: SageMaker rolled the blue/green "
            "update back (its alarms fired) or the deploy did not reach it"
        )
    return {
        "passed": not reasons,
        "reasons": reasons,
        "endpoint": endpoint_name,
        "status": endpoint["EndpointStatus"],
        "image": image,
    }


# -- commands ----------------------------------------------------------------------------------


def serving_stack_name(settings: Settings) -> str:
    """The serving stack of the environment, as ``mlops_cdk.platform.build_platform`` names it."""
    suffix = "EksServing" if settings.serving == "eks" else "SageMakerServing"
    return f"{settings.stack_prefix}-{suffix}"


def session_for(settings: Settings, assume_lookup_role: bool) -> boto3.Session:
    """A session in the environment's region, through the CDK lookup role if asked."""
    session = boto3.Session(region_name=settings.region)
    if not assume_lookup_role:
        return session
    account = session.client("sts").get_caller_identity()["Account"]
    role = (
        f"arn:aws:iam::{account}:role/cdk-{settings.cicd.bootstrap_qualifier}-lookup-role-"
        f"{account}-{settings.region}"
    )
    credentials = session.client("sts").assume_role(
        RoleArn=role, RoleSessionName=f"canary-{settings.env_name}"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=settings.region,
    )


def command_plan(settings: Settings, session: boto3.Session, args: argparse.Namespace) -> int:
    """Print the release plan (and write it to ``$GITHUB_OUTPUT`` in a workflow)."""
    outputs = stack_outputs(session.client("cloudformation"), serving_stack_name(settings))
    plan = release_plan(
        serving=settings.serving,
        stable_tag=outputs.get("StableImageTag"),
        new_tag=args.new_tag,
    )
    plan = {**plan, "serving": settings.serving, "stable_tag": outputs.get("StableImageTag", "")}
    print(json.dumps(plan, indent=2))
    if os.environ.get("GITHUB_OUTPUT"):
        with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as output:
            output.writelines(f"{key}={value}\n" for key, value in plan.items())
    return 0


def analyze_eks(
    settings: Settings,
    session: boto3.Session,
    args: argparse.Namespace,
    sleep: Callable[[float], None],
) -> dict[str, Any]:
    """The canary's verdict: its alarms while waiting, then its metrics over the window."""
    outputs = stack_outputs(session.client("cloudformation"), serving_stack_name(settings))
    if "CanaryTargetGroupFullName" not in outputs:
        return {
            "passed": False,
            "reasons": [
                f"{serving_stack_name(settings)} runs no canary; deploy one first (make deploy "
                "CANARY_IMAGE_TAG=<tag> CANARY_PERCENT=10)"
            ],
        }
    cloudwatch = session.client("cloudwatch")
    fired = None
    if args.wait:
        names = [canary_alarm_name(settings.env_name, kind) for kind in ALARM_KINDS]
        fired = watch_alarms(cloudwatch, names, args.minutes, sleep)
    end = datetime.now(UTC)
    metrics = read_metrics(
        cloudwatch,
        load_balancer=outputs["LoadBalancerFullName"],
        target_group=outputs["CanaryTargetGroupFullName"],
        start=end - timedelta(minutes=args.minutes),
        end=end,
    )
    observability = settings.observability
    thresholds = Thresholds(
        error_rate_percent=observability.error_rate_percent,
        p99_latency_ms=observability.p99_latency_ms,
        min_requests=args.min_requests,
    )
    verdict = judge(metrics, thresholds, args.minutes)
    if fired:
        verdict = {**verdict, "passed": False, "reasons": [fired, *verdict["reasons"]]}
    tags = {
        "stable_tag": outputs.get("StableImageTag"),
        "canary_tag": outputs.get("CanaryImageTag"),
    }
    return {**tags, **verdict}


def command_analyze(
    settings: Settings,
    session: boto3.Session,
    args: argparse.Namespace,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Print the release verdict (EKS canary or SageMaker blue/green); 1 if it failed."""
    if settings.serving == "eks":
        verdict = analyze_eks(settings, session, args, sleep)
    else:
        outputs = stack_outputs(session.client("cloudformation"), serving_stack_name(settings))
        verdict = endpoint_outcome(
            session.client("sagemaker"), outputs["EndpointName"], args.expect_tag, args.minutes
        )
    verdict = {"env": settings.env_name, "serving": settings.serving, **verdict}
    print(json.dumps(verdict, indent=2))
    _summarize(verdict)
    if not verdict["passed"]:
        print(
            f"{settings.env_name}: release failed: {'; '.join(verdict['reasons'])}", file=sys.stderr
        )
        return 1
    return 0


def command_status(settings: Settings, session: boto3.Session, args: argparse.Namespace) -> int:
    """Print both tags, the listener's weights (or the endpoint), and the alarm states."""
    outputs = stack_outputs(session.client("cloudformation"), serving_stack_name(settings))
    if not outputs:
        print(f"{serving_stack_name(settings)} is not deployed", file=sys.stderr)
        return 1
    cloudwatch = session.client("cloudwatch")
    status: dict[str, Any] = {"env": settings.env_name, "serving": settings.serving}
    if settings.serving == "eks":
        canary_tag = outputs.get("CanaryImageTag", NO_CANARY)
        rules = session.client("elbv2").describe_rules(ListenerArn=outputs["ModelListenerArn"])
        status |= {
            "stable_tag": outputs.get("StableImageTag"),
            "canary_tag": None if canary_tag == NO_CANARY else canary_tag,
            "weights": listener_weights(rules["Rules"], outputs.get("CanaryTargetGroupFullName")),
        }
    else:
        endpoint = session.client("sagemaker").describe_endpoint(
            EndpointName=outputs["EndpointName"]
        )
        status |= {
            "endpoint": outputs["EndpointName"],
            "endpoint_status": endpoint["EndpointStatus"],
        }
    status["alarms"] = alarm_states(cloudwatch, prefix=f"mlops-cdk-{settings.env_name}")
    print(json.dumps(status, indent=2))
    return 0


def _summarize(verdict: Mapping[str, Any]) -> None:
    """Append the verdict to the GitHub job summary, when there is one."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    outcome = "passed" if verdict["passed"] else "FAILED"
    lines = [f"### {verdict['env']} release analysis ({verdict['serving']}): {outcome}"]
    lines += [f"- {reason}" for reason in verdict["reasons"]]
    lines += ["", "```json", json.dumps(verdict, indent=2), "```", ""]
    with open(path, "a", encoding="utf-8") as summary:
        summary.write("\n".join(lines))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line: a command and its options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("plan", "analyze", "status"):
        command = commands.add_parser(name)
        command.add_argument("--env", required=True, choices=("dev", "staging", "prod"))
        command.add_argument("--serving", choices=("eks", "sagemaker"), default=None)
        command.add_argument("--assume-lookup-role", action="store_true")
        if name == "plan":
            command.add_argument("--new-tag", required=True)
        if name == "analyze":
            command.add_argument("--minutes", type=int, default=15)
            command.add_argument("--wait", action="store_true")
            command.add_argument("--expect-tag", default=None)
            command.add_argument("--min-requests", type=int, default=1)
    args = parser.parse_args(argv)
    if getattr(args, "minutes", 1) < 1:
        parser.error("--minutes must be at least 1")
    return args


def main(
    argv: Sequence[str] | None = None,
    session: boto3.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Run one command; ``session`` and ``sleep`` are for tests (moto, no waiting)."""
    args = parse_args(argv)
    context = {"env": args.env, **({"serving": args.serving} if args.serving else {})}
    try:
        settings = load_settings(context)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    session = session or session_for(settings, args.assume_lookup_role)
    if args.command == "analyze":
        return command_analyze(settings, session, args, sleep)
    command = {"plan": command_plan, "status": command_status}
    return command[args.command](settings, session, args)


if __name__ == "__main__":
    sys.exit(main())
