"""A consumer CDK app that imports mlops-cdk as a library (no access to this repository).

Run from any directory once ``pip install mlops-cdk`` is done::

    CDK_OUTDIR=cdk.out python app.py
"""

import aws_cdk as cdk

from mlops_cdk.constructs import (
    GitHubTokenSecret,
    ModelImageRepository,
    PlatformStorage,
    PlatformVpc,
    RetrainingDispatcher,
)

app = cdk.App()
stack = cdk.Stack(
    app, "MyTeamMlPlatform", env=cdk.Environment(account="123456789012", region="eu-west-1")
)
vpc = PlatformVpc(stack, "Network", availability_zones=["eu-west-1a", "eu-west-1b"])
storage = PlatformStorage(stack, "Storage", data_prefix="landing/")
images = ModelImageRepository(stack, "Images", keep_last=5)
token = GitHubTokenSecret(stack, "GitHubToken")
retraining = RetrainingDispatcher(
    stack,
    "Retraining",
    data_bucket=storage.data_bucket,
    data_prefix="landing/",
    github_repository="my-team/fraud-model",
    github_token_secret=token.secret,
    batching_window=cdk.Duration.minutes(2),
)
app.synth()
