"""Latency the predict_proxy adapter adds on top of the SageMaker InvokeEndpoint call.

Two figures, in microseconds (median and p99 over N calls, single process):

1. handler overhead: ``handle()`` with an in-process endpoint that answers instantly, i.e. routing,
   body decoding, size check and response building; this is the adapter's own cost per request.
2. added over botocore: ``handle()`` minus a direct ``client.invoke_endpoint()`` against the same
   fake SageMaker Runtime on 127.0.0.1, paired call by call; it includes the adapter's cost and
   noise of the loopback round trip. (In Lambda, add cold starts and X-Ray, not measured here.)
3. cold import: importing the handler module in a fresh interpreter (Powertools, boto3 and the
   client creation at module scope), median and max of 7 runs: a lower bound on the init phase.

Run: ``python benchmarks/predict_proxy_bench.py [N]`` (default N=2000).
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"

from cold_import import cold_import_ms

from mlops_cdk.lambdas.predict_proxy.handler import handle
from tests.lambdas.fake_sagemaker_runtime import Reply, fake_runtime, runtime_client

ENDPOINT, MODEL = "bench-endpoint", "fraud-detection"
PAYLOAD = '{"instances": [1000, 45, 0.67]}'
EVENT = {
    "rawPath": f"/v1/models/{MODEL}:predict",
    "requestContext": {"http": {"method": "POST"}, "stage": "$default"},
    "body": PAYLOAD,
    "isBase64Encoded": False,
}


class InstantEndpoint:
    """Answers InvokeEndpoint in-process, so only the adapter's work is timed."""

    def invoke_endpoint(self, **_: object) -> dict:
        return {"Body": io.BytesIO(b'{"predictions": [0.92]}'), "ContentType": "application/json"}


def percentiles(samples_ns: list[int]) -> tuple[float, float]:
    ordered = sorted(samples_ns)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) / 1000, p99 / 1000


def timed(fn) -> int:
    start = time.perf_counter_ns()
    fn()
    return time.perf_counter_ns() - start


def main(n: int) -> None:
    instant = InstantEndpoint()
    for _ in range(200):
        handle(EVENT, instant, ENDPOINT, MODEL, 65536)
    overhead = [timed(lambda: handle(EVENT, instant, ENDPOINT, MODEL, 65536)) for _ in range(n)]
    median, p99 = percentiles(overhead)
    print(
        f"handler overhead (in-process endpoint), n={n}: median {median:.1f} us, p99 {p99:.1f} us"
    )

    with fake_runtime(Reply()) as (url, _):
        client = runtime_client(url)

        def direct() -> None:
            client.invoke_endpoint(
                EndpointName=ENDPOINT,
                Body=PAYLOAD.encode(),
                ContentType="application/json",
                Accept="application/json",
            )["Body"].read()

        for _ in range(100):
            direct()
            handle(EVENT, client, ENDPOINT, MODEL, 65536)
        via_direct, via_adapter, added = [], [], []
        for _ in range(n):
            d = timed(direct)
            a = timed(lambda: handle(EVENT, client, ENDPOINT, MODEL, 65536))
            via_direct.append(d)
            via_adapter.append(a)
            added.append(a - d)
    for label, samples in (
        ("direct invoke_endpoint", via_direct),
        ("through handle()", via_adapter),
    ):
        median, p99 = percentiles(samples)
        print(f"{label} over loopback, n={n}: median {median:.1f} us, p99 {p99:.1f} us")
    median, p99 = percentiles(added)
    print(f"added by the adapter (paired difference): median {median:.1f} us, p99 {p99:.1f} us")
    imports = cold_import_ms("mlops_cdk.lambdas.predict_proxy.handler", runs=7)
    print(
        f"cold import of the handler module, 7 runs: median {statistics.median(imports):.0f} ms, "
        f"max {max(imports):.0f} ms"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
