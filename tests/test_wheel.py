"""The built wheel installs outside the repo and a consumer app synthesizes with it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

from tests.conftest import ROOT


def run(*cmd: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def build_wheel(tmp_path: Path) -> Path:
    """The wheel named by ``MLOPS_CDK_WHEEL`` (``make test-wheel``), else one built from a copy."""
    if os.environ.get("MLOPS_CDK_WHEEL"):
        return Path(os.environ["MLOPS_CDK_WHEEL"]).resolve()
    # Build from a copy without setuptools' build/ directory, whose stale files (say, a module
    # deleted since the last build) would otherwise end up in the wheel.
    source = tmp_path / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            "build",
            "dist",
            "*.egg-info",
            ".venv*",
            "node_modules",
            "cdk.out",
            ".git",
            "__pycache__",
        ),
    )
    dist = tmp_path / "dist"
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--quiet",
        "-w",
        dist,
        source,
        cwd=tmp_path,
    )
    return next(dist.glob("mlops_cdk-*.whl"))


def test_wheel_installs_into_a_fresh_venv_and_the_example_app_synthesizes(tmp_path):
    wheel = build_wheel(tmp_path)

    fresh = tmp_path / "venv"
    venv.create(fresh, with_pip=True)
    fresh_python = fresh / "bin" / "python"
    # Heavy dependencies (aws-cdk-lib, layers) come from the project venv through a .pth file;
    # mlops_cdk itself only exists in the wheel, never on this venv's path otherwise.
    fresh_site = Path(
        run(
            fresh_python,
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            cwd=tmp_path,
        ).strip()
    )
    (fresh_site / "project-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(fresh_python, "-m", "pip", "install", "--no-deps", "--quiet", wheel, cwd=tmp_path)

    consumer = tmp_path / "consumer"
    consumer.mkdir()
    shutil.copy(ROOT / "examples" / "import_constructs" / "app.py", consumer / "app.py")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CDK_CONTEXT_JSON")}
    env["CDK_OUTDIR"] = str(consumer / "cdk.out")
    location = run(
        fresh_python, "-c", "import mlops_cdk; print(mlops_cdk.__file__)", cwd=consumer, env=env
    )
    assert str(fresh) in location and str(ROOT) not in location
    run(fresh_python, "app.py", cwd=consumer, env=env)

    template = json.loads((consumer / "cdk.out" / "MyTeamMlPlatform.template.json").read_text())
    types = {r["Type"] for r in template["Resources"].values()}
    assert {"AWS::EC2::VPC", "AWS::S3::Bucket", "AWS::ECR::Repository"} <= types
    assert {"AWS::Lambda::Function", "AWS::SQS::Queue", "AWS::Scheduler::Schedule"} <= types

    # The dispatcher's code asset is the installed package directory, which holds every file of
    # the source package (package data), so an installed library deploys its own handler.
    installed = Path(
        run(
            fresh_python,
            "-c",
            "import mlops_cdk.lambdas.retrain_dispatch as m, pathlib; "
            "print(pathlib.Path(m.__file__).parent)",
            cwd=consumer,
            env=env,
        ).strip()
    )
    assert str(fresh) in str(installed)
    source_files = py_files(ROOT / "mlops_cdk" / "lambdas" / "retrain_dispatch")
    assert "__init__.py" in source_files
    assert py_files(installed) == source_files
    (dispatcher,) = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"]["Handler"] == "retrain_dispatch.handler.handler"
    ]
    asset_hash = dispatcher["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    asset = consumer / "cdk.out" / f"asset.{asset_hash}"
    assert py_files(asset / "retrain_dispatch") == source_files
    # The asset imports the way Lambda imports it: its root on sys.path, the handler by name.
    lambda_env = env | {"AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true"}
    run(
        fresh_python,
        "-c",
        f"import sys; sys.path[:1] = [{str(asset)!r}]; "
        "import retrain_dispatch.handler as h; assert callable(h.handler)",
        cwd=asset,
        env=lambda_env,
    )


def py_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob("*.py"))
