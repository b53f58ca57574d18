"""Lambda handlers import boto3 clients at module scope: give them a region and fake credentials."""

from __future__ import annotations

import os

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
