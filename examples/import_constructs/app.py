"""A consumer CDK app that imports mlops-cdk as a library (no access to this repository).

Run from any directory once ``pip install mlops-cdk`` is done::

    CDK_OUTDIR=cdk.out python app.py
"""

import aws_cdk as cdk

from mlops_cdk.constructs import (
    GitHubActionsRole,
    GitHubOidcProvider,
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
# x_props adjusts what a construct creates (deep-merged over its secure defaults); existing_x
# reuses what you own. Passing both for one resource is an error.
storage = PlatformStorage(
    stack, "Storage", data_prefix="landing/", artifacts_bucket_props={"versioned": True}
)
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
# The account already federates GitHub (one provider per account): import it by its ARN.
oidc = GitHubOidcProvider(
    stack,
    "GitHubOidc",
    existing_provider=GitHubOidcProvider.from_arn(
        stack, "AccountGitHubOidc", GitHubOidcProvider.arn_for_account(stack)
    ),
)
deploy_role = GitHubActionsRole(
    stack,
    "DeployRole",
    provider=oidc.provider,
    repository="my-team/fraud-model",
    environment="prod",
    description="Deploys from the prod GitHub environment",
)
app.synth()
