"""Benchmark the retrain_dispatch handler: cold import time and time per 10,000-record batch.

Runs against a fake GitHub API on 127.0.0.1 and moto for Secrets Manager and DynamoDB, so the
figures cover parsing, planning, the idempotency round trips and one HTTP dispatch. Every batch
holds new objects (a real dispatch, not an idempotent replay).

    python benchmarks/retrain_dispatch_bench.py [--runs 7] [--records 10000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "lambdas")]

from cold_import import cold_import_ms  # noqa: E402 - beside this script


def batch_ms(runs: int, records: int) -> list[float]:
    """Time the handler on ``runs`` batches of ``records`` new objects each."""
    import boto3
    from conftest import FakeContext
    from moto import mock_aws
    from retrain_fakes import (
        BUCKET,
        REPOSITORY,
        TOKEN,
        eventbridge_body,
        serve_fake_github,
        sqs_event,
    )

    os.environ.update(
        {
            "POWERTOOLS_SERVICE_NAME": "retrain-dispatch",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
        }
    )
    timings = []
    with mock_aws(), serve_fake_github() as github:
        arn = boto3.client("secretsmanager").create_secret(Name="t", SecretString=TOKEN)["ARN"]
        boto3.client("dynamodb").create_table(
            TableName="idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        os.environ.update(
            {
                "DISPATCH_TARGET": "github",
                "GITHUB_REPOSITORY": REPOSITORY,
                "GITHUB_TOKEN_SECRET_ARN": arn,
                "GITHUB_API_URL": github.url,
                "IDEMPOTENCY_TABLE_NAME": "idempotency",
                "DATA_BUCKET_NAME": BUCKET,
            }
        )
        from mlops_cdk.lambdas.retrain_dispatch.handler import handler

        with open(os.devnull, "w") as devnull:
            stdout, sys.stdout = sys.stdout, devnull  # EMF metrics are printed per invocation
            try:
                for run in range(runs + 1):  # the first run warms clients and the token cache
                    event = sqs_event(
                        [
                            eventbridge_body(f"incoming/run{run}/obj-{index:05d}.csv")
                            for index in range(records)
                        ]
                    )
                    start = time.perf_counter()
                    response = handler(event, FakeContext())
                    elapsed = (time.perf_counter() - start) * 1000
                    if response["batchItemFailures"]:
                        raise RuntimeError(f"benchmark batch failed: {response}")
                    if run:
                        timings.append(elapsed)
            finally:
                sys.stdout = stdout
        if len(github.dispatches) != runs + 1:
            raise RuntimeError(f"expected {runs + 1} dispatches, got {len(github.dispatches)}")
    return timings


def main() -> None:
    """Print median and spread of both figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--records", type=int, default=10_000)
    args = parser.parse_args()
    imports = cold_import_ms(
        "mlops_cdk.lambdas.retrain_dispatch.handler",
        runs=args.runs,
        env={"POWERTOOLS_TRACE_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1"},
    )
    batches = batch_ms(args.runs, args.records)
    print(
        f"cold import: median {statistics.median(imports):.0f} ms "
        f"(min {min(imports):.0f}, max {max(imports):.0f}, {args.runs} runs)"
    )
    print(
        f"{args.records}-record batch: median {statistics.median(batches):.0f} ms "
        f"(min {min(batches):.0f}, max {max(batches):.0f}, {args.runs} runs, fake GitHub + moto)"
    )


if __name__ == "__main__":
    main()
