"""deploy.yml resolves the tag to one digest and every environment deploys that digest."""

from __future__ import annotations

from tests.test_workflows import load


def test_the_image_job_resolves_the_tag_once_after_setup_with_the_retrain_role():
    job = load("deploy.yml")["jobs"]["image"]
    steps = job["steps"]
    names = [step.get("name", step.get("uses", "")) for step in steps]
    setup = names.index("Install the pinned dependencies")
    credentials = next(
        i for i, step in enumerate(steps) if "configure-aws-credentials" in step.get("uses", "")
    )
    resolve = next(i for i, step in enumerate(steps) if step.get("id") == "resolve")
    assert setup < credentials < resolve
    assert steps[credentials]["with"]["role-to-assume"] == "${{ vars.AWS_RETRAIN_ROLE_ARN }}"
    assert 'make image-digest IMAGE_TAG="$IMAGE_TAG"' in steps[resolve]["run"]
    assert 'echo "digest=${digest}" >> "$GITHUB_OUTPUT"' in steps[resolve]["run"]
    assert job["outputs"] == {"digest": "${{ steps.resolve.outputs.digest }}"}


def test_every_environment_gets_the_same_digest_from_the_one_image_job():
    jobs = load("deploy.yml")["jobs"]
    digests = {jobs[env]["with"]["image_digest"] for env in ("dev", "staging", "prod")}
    assert digests == {"${{ needs.image.outputs.digest }}"}
    resolving = [name for name, job in jobs.items() if "image-digest" in str(job.get("steps"))]
    assert resolving == ["image"], "the tag is resolved exactly once per release"


def test_deploy_environment_hands_the_digest_to_make_deploy():
    workflow = load("deploy-environment.yml")
    digest_input = workflow["on"]["workflow_call"]["inputs"]["image_digest"]
    assert digest_input["required"] is True
    (job,) = workflow["jobs"].values()
    # make deploy's IMAGE_DIGEST ?= reads it from the environment: -c image_digest=...
    assert job["env"]["IMAGE_DIGEST"] == "${{ inputs.image_digest }}"
