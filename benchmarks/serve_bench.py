"""Throughput and latency of the model server next to a bare baseline server, in one run.

Starts the fraud-detection server (``model/fraud_model/server.py``) and a baseline that uses
the same HTTP stack (uvicorn, uvloop, httptools) but answers a constant without reading the
JSON or running a model, then drives each with single-row KServe v1 predictions over
``--connections`` keep-alive connections on 127.0.0.1: warm-up, then a timed window. Prints req/s
and p50/p99 per server, the throughput ratio and the verdict against the targets
(>= 1,500 req/s, p99 <= 15 ms, >= 80% of the baseline's throughput).

Run from the repository root after ``make train``::

    .venv/bin/python benchmarks/serve_bench.py [--duration 10] [--connections 8]

``--url`` measures an already running server instead (e.g. another implementation), alone.
"""

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import uvloop

REPO = Path(__file__).resolve().parents[1]
MODEL_SRC = REPO / "model"
PREDICT_PATH = "/v1/models/fraud-detection:predict"
BODY = b'{"instances": [1000, 45, 0.67]}'
TARGET_RPS = 1_500
TARGET_P99_MS = 15.0
TARGET_RATIO = 0.80

BASELINE_RESPONSE = b'{"predictions": [0.5]}'


async def baseline_app(
    scope: dict[str, Any],
    receive: Callable[[], Awaitable[dict[str, Any]]],
    send: Callable[[dict[str, Any]], Awaitable[None]],
) -> None:
    """Bare ASGI app: drain the body, answer a constant. The transport's ceiling."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(BASELINE_RESPONSE)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": BASELINE_RESPONSE})


@dataclass(frozen=True, eq=False)
class Result:
    """Latencies of the successful requests of one or more timed windows."""

    latencies_ms: np.ndarray
    errors: int
    seconds: float

    @property
    def rps(self) -> float:
        """Successful requests per second."""
        return len(self.latencies_ms) / self.seconds

    def percentile(self, q: float) -> float:
        """Latency percentile ``q`` in milliseconds."""
        return float(np.percentile(self.latencies_ms, q))

    def __add__(self, other: "Result") -> "Result":
        """Pool two measurements of the same server."""
        return Result(
            np.concatenate([self.latencies_ms, other.latencies_ms]),
            self.errors + other.errors,
            self.seconds + other.seconds,
        )


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection sending the same request back to back."""

    def __init__(self, request: bytes, deadline: float, done: asyncio.Future) -> None:
        self.request, self.deadline, self.done = request, deadline, done
        self.buffer = b""
        self.latencies: list[int] = []
        self.errors = 0
        self.sent_at = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self._send()

    def _send(self) -> None:
        self.sent_at = time.perf_counter_ns()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end].lower()
        length_at = head.index(b"content-length:") + len(b"content-length:")
        line_end = head.find(b"\r\n", length_at)
        length = int(head[length_at : line_end if line_end >= 0 else end])
        if len(self.buffer) < end + 4 + length:
            return
        now = time.perf_counter_ns()
        if head.startswith(b"http/1.1 200"):
            self.latencies.append(now - self.sent_at)
        else:
            self.errors += 1
        self.buffer = self.buffer[end + 4 + length :]
        if time.perf_counter() < self.deadline:
            self._send()
        else:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def _window(host: str, port: int, path: str, connections: int, seconds: float) -> "Result":
    """Keep ``connections`` connections busy for ``seconds``; return what they measured."""
    loop = asyncio.get_running_loop()
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(BODY)}\r\n\r\n"
    ).encode() + BODY
    deadline = time.perf_counter() + seconds
    protocols: list[_Connection] = []
    finished = []
    started = time.perf_counter()
    for _ in range(connections):
        done = loop.create_future()
        _, protocol = await loop.create_connection(
            lambda done=done: _Connection(request, deadline, done), host, port
        )
        protocols.append(protocol)
        finished.append(done)
    await asyncio.gather(*finished)
    elapsed = time.perf_counter() - started
    latencies_ms = (
        np.concatenate([np.asarray(p.latencies, dtype=np.int64) for p in protocols]) / 1e6
    )
    return Result(latencies_ms, sum(p.errors for p in protocols), elapsed)


def measure(host: str, port: int, path: str, *, connections: int, seconds: float) -> Result:
    """Drive the server for ``seconds`` with ``connections`` connections."""
    return uvloop.run(_window(host, port, path, connections, seconds))


def _free_port() -> int:
    """Ask the kernel for an unused port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_ready(url: str, process: subprocess.Popen, timeout: float = 30.0) -> None:
    """Poll ``url`` until it answers 200; fail if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"server exited with status {process.returncode} before {url} was up"
            )
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {timeout:.0f} s")


def _start(command: list[str], port: int, ready_path: str, env: dict[str, str]) -> subprocess.Popen:
    """Start a server process and wait until it is ready."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        _wait_ready(f"http://127.0.0.1:{port}{ready_path}", process)
    except RuntimeError:
        process.terminate()
        process.wait(timeout=10)
        raise
    return process


def _stop(process: subprocess.Popen) -> None:
    """Terminate a server process and reap it."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _report(name: str, result: Result) -> None:
    print(
        f"{name:<10} {result.rps:>9,.0f} req/s   p50 {result.percentile(50):6.2f} ms   "
        f"p99 {result.percentile(99):6.2f} ms   errors {result.errors}"
    )


def _bench_local(args: argparse.Namespace) -> int:
    """Measure the baseline and the model server in alternating windows; print the verdict."""
    if not (args.model_dir / "model.onnx").is_file():
        print(f"error: no model.onnx in {args.model_dir}; run `make train` first", file=sys.stderr)
        return 1
    env = {**os.environ, "PYTHONPATH": str(MODEL_SRC), "MODEL_DIR": str(args.model_dir)}
    ports = {"baseline": _free_port(), "model": _free_port()}
    commands = {
        "baseline": [sys.executable, __file__, "--serve-baseline", str(ports["baseline"])],
        "model": [
            *(sys.executable, "-m", "fraud_model.server"),
            *("--host", "127.0.0.1", "--port", str(ports["model"])),
        ],
    }
    processes = {}
    try:
        for name, command in commands.items():
            processes[name] = _start(command, ports[name], "/v2/health/ready", env)
        for port in ports.values():
            measure(
                "127.0.0.1", port, PREDICT_PATH, connections=args.connections, seconds=args.warmup
            )
        # Alternate short windows so that other load on the machine hits both servers alike.
        results: dict[str, Result] = {}
        for _ in range(args.rounds):
            for name, port in ports.items():
                window = measure(
                    "127.0.0.1",
                    port,
                    PREDICT_PATH,
                    connections=args.connections,
                    seconds=args.duration / args.rounds,
                )
                results[name] = results[name] + window if name in results else window
    finally:
        for process in processes.values():
            _stop(process)
    for name, result in results.items():
        _report(name, result)
    model, baseline = results["model"], results["baseline"]
    ratio = model.rps / baseline.rps
    checks = {
        f"throughput >= {TARGET_RPS:,} req/s": model.rps >= TARGET_RPS,
        f"p99 <= {TARGET_P99_MS:.0f} ms": model.percentile(99) <= TARGET_P99_MS,
        f"throughput >= {TARGET_RATIO:.0%} of the baseline's ({ratio:.0%})": ratio >= TARGET_RATIO,
        "no errors": model.errors == 0,
    }
    for check, passed in checks.items():
        print(f"{'PASS' if passed else 'FAIL'}  {check}")
    return 1 if args.enforce and not all(checks.values()) else 0


def main() -> int:
    """Parse arguments and run the benchmark (or the baseline server, in the child process)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds per server")
    parser.add_argument("--duration", type=float, default=12.0, help="seconds per server")
    parser.add_argument("--rounds", type=int, default=4, help="alternating windows per server")
    parser.add_argument("--model-dir", type=Path, default=MODEL_SRC / "artifacts")
    parser.add_argument("--url", help="measure this running server's base URL instead")
    parser.add_argument("--enforce", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--serve-baseline", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        import uvicorn

        uvicorn.run(
            baseline_app,
            host="127.0.0.1",
            port=args.serve_baseline,
            loop="uvloop",
            http="httptools",
            lifespan="off",
            access_log=False,
            log_level="warning",
        )
        return 0
    print(
        f"{args.connections} connections, {args.warmup:.0f} s warm-up, {args.duration:.0f} s"
        f" measured in {args.rounds} alternating windows, single-row POST {PREDICT_PATH}"
    )
    if args.url:
        url = urlsplit(args.url)
        host, port = url.hostname or "127.0.0.1", url.port or 80
        measure(host, port, PREDICT_PATH, connections=args.connections, seconds=args.warmup)
        result = measure(
            host, port, PREDICT_PATH, connections=args.connections, seconds=args.duration
        )
        _report(url.netloc, result)
        return 0
    return _bench_local(args)


if __name__ == "__main__":
    sys.exit(main())
