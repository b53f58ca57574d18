#!/usr/bin/env python3
"""CDK entry point: ``npx cdk synth -c env=<dev|staging|prod> -c serving=<eks|sagemaker>``."""

import sys

import aws_cdk as cdk

from mlops_cdk.config import ConfigError
from mlops_cdk.platform import add_security_checks, build_platform, settings_from_app

app = cdk.App()
try:
    settings = settings_from_app(app)
except ConfigError as error:
    print(error, file=sys.stderr)
    sys.exit(1)
build_platform(app, settings)
add_security_checks(app)
app.synth()
