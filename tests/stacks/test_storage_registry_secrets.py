"""StorageStack, RegistryStack, SecretsStack: secure defaults and per-environment policies."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match


def buckets(t):
    return t.find_resources("AWS::S3::Bucket")


def named_outputs(t) -> dict:
    """The stack's own outputs (not CDK's cross-stack ``PublishOutput*`` exports) and values."""
    return {
        name: output["Value"]
        for name, output in t.to_json().get("Outputs", {}).items()
        if not name.startswith("PublishOutput")
    }


def test_data_and_artifact_buckets_are_private_encrypted_versioned_and_logged(synth):
    s = synth("dev")
    t = s.template(s.stacks.storage)
    t.resource_count_is("AWS::S3::Bucket", 3)
    logged = [b for b in buckets(t).values() if "LoggingConfiguration" in b["Properties"]]
    assert len(logged) == 2
    for b in logged:
        props = b["Properties"]
        sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        assert sse["BucketKeyEnabled"] is True
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        rules = props["LifecycleConfiguration"]["Rules"]
        assert any(r.get("AbortIncompleteMultipartUpload") for r in rules)
    t.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_every_bucket_denies_plain_http(synth):
    s = synth("dev")
    t = s.template(s.stacks.storage)
    policies = t.find_resources("AWS::S3::BucketPolicy")
    assert len(policies) == 3
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            st["Effect"] == "Deny" and st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for st in statements
        )


def test_data_bucket_sends_events_to_eventbridge_and_expires_incoming(synth):
    s = synth("dev")
    t = s.template(s.stacks.storage)
    t.has_resource_properties(
        "Custom::S3BucketNotifications",
        {"NotificationConfiguration": {"EventBridgeConfiguration": {}}},
    )
    t.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [
                        Match.object_like(
                            {"Id": "ExpireIncoming", "Prefix": "incoming/", "ExpirationInDays": 365}
                        )
                    ]
                )
            }
        },
    )


def test_prod_retains_data_and_dev_cleans_up(synth):
    prod, dev = synth("prod"), synth("dev")
    for stack in (prod.stacks.storage, prod.stacks.registry, prod.stacks.secrets):
        for res in prod.template(stack).to_json()["Resources"].values():
            if res["Type"] in (
                "AWS::S3::Bucket",
                "AWS::KMS::Key",
                "AWS::ECR::Repository",
                "AWS::SecretsManager::Secret",
            ):
                assert res["DeletionPolicy"] == "Retain", res["Type"]
    for res in dev.template(dev.stacks.storage).find_resources("AWS::S3::Bucket").values():
        assert res["DeletionPolicy"] == "Delete"
    dev.template(dev.stacks.storage).resource_count_is("Custom::S3AutoDeleteObjects", 3)
    assert prod.stacks.storage.termination_protection is True
    assert dev.stacks.storage.termination_protection is False


def test_ecr_repository_is_immutable_scanned_encrypted_with_lifecycle(synth):
    s = synth("dev")
    t = s.template(s.stacks.registry)
    t.has_resource_properties(
        "AWS::ECR::Repository",
        {
            "ImageTagMutability": "IMMUTABLE",
            "ImageScanningConfiguration": {"ScanOnPush": True},
            "EncryptionConfiguration": {"EncryptionType": "KMS"},
            "RepositoryName": s.settings.registry.repository_name,
        },
    )
    repo = next(iter(t.find_resources("AWS::ECR::Repository").values()))
    # Shared by the account's environments: destroying dev must not delete prod's images.
    assert repo["DeletionPolicy"] == "Retain"
    assert repo["Properties"].get("EmptyOnDelete") in (None, False)
    policy = json.loads(repo["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])
    assert policy["rules"][0]["selection"]["countNumber"] == s.settings.registry.keep_last_images


def test_repository_uri_output_is_the_uri_not_the_arn(synth):
    """ACCOUNT.dkr.ecr.REGION.URL_SUFFIX/NAME, built from the repository's ARN and name."""
    s = synth("dev")
    t = s.template(s.stacks.registry)
    (repository,) = t.find_resources("AWS::ECR::Repository")
    arn_part = {"Fn::Split": [":", {"Fn::GetAtt": [repository, "Arn"]}]}
    uri = [
        {"Fn::Select": [4, arn_part]},
        ".dkr.ecr.",
        {"Fn::Select": [3, arn_part]},
        ".",
        {"Ref": "AWS::URLSuffix"},
        "/",
        {"Ref": repository},
    ]
    outputs = named_outputs(t)
    assert outputs["RepositoryUri"] == {"Fn::Join": ["", uri]}
    assert outputs["ImageTag"] == s.settings.image_tag


def test_github_token_secret_never_holds_a_value_in_the_template(synth):
    s = synth("dev")
    t = s.template(s.stacks.secrets)
    t.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {"GenerateSecretString": Match.object_like({}), "KmsKeyId": Match.any_value()},
    )
    secret = next(iter(t.find_resources("AWS::SecretsManager::Secret").values()))
    assert "SecretString" not in secret["Properties"]
    t.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_secret_arn_output_is_the_secrets_arn(synth):
    """Ref on an AWS::SecretsManager::Secret is its ARN."""
    s = synth("dev")
    t = s.template(s.stacks.secrets)
    (secret,) = t.find_resources("AWS::SecretsManager::Secret")
    assert named_outputs(t) == {"GitHubTokenSecretArn": {"Ref": secret}}


def test_storage_exports_only_what_other_stacks_reference(synth):
    """The storage stack declares no outputs of its own; cross-stack exports name their source."""
    s = synth("dev")
    t = s.template(s.stacks.storage)
    assert named_outputs(t) == {}
    resources = t.to_json()["Resources"]
    for output in t.to_json()["Outputs"].values():
        value = output["Value"]
        source = value["Ref"] if "Ref" in value else value["Fn::GetAtt"][0]
        assert source in resources
