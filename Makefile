# mlops-cdk: `make synth` and `make test` are all a new user needs (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ENV ?= dev
SERVING ?=
# What an environment serves lives in mlops_cdk/config/environments.py: SERVING, SERVING_ENGINE
# and -c flags in DEPLOY_FLAGS are for previews; `make deploy` warns when they differ from it.
SERVING_ENGINE ?=
IMAGE_TAG ?=
# sha256:<64 hex> of IMAGE_TAG (make image-digest): the templates then reference the digest.
IMAGE_DIGEST ?=
# GitHub Actions sets GITHUB_REPOSITORY (owner/name) for every job; locally pass it.
GITHUB_REPOSITORY ?=
GITHUB_OIDC_PROVIDER_ARN ?=
# Extra `cdk deploy` flags, e.g. DEPLOY_FLAGS=--force to redeploy consumers of a changed output.
DEPLOY_FLAGS ?=
PLACEHOLDER_REPOSITORY := example-org/mlops-cdk
PORT ?= 8080
FORMAT ?= text

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := true

CDK_CONTEXT := -c env='$(ENV)' $(if $(SERVING),-c serving='$(SERVING)') \
	$(if $(SERVING_ENGINE),-c serving_engine='$(SERVING_ENGINE)') \
	$(if $(IMAGE_TAG),-c image_tag='$(IMAGE_TAG)') \
	$(if $(IMAGE_DIGEST),-c image_digest='$(IMAGE_DIGEST)') \
	$(if $(GITHUB_REPOSITORY),-c github_repository='$(GITHUB_REPOSITORY)') \
	$(if $(GITHUB_OIDC_PROVIDER_ARN),-c github_oidc_provider_arn='$(GITHUB_OIDC_PROVIDER_ARN)')

MODEL_PY := PYTHONPATH=model $(PY)
IMAGE ?= model-server:dev
OUTPUTS ?=
URL ?=
SMOKE_FLAGS ?=
DEST ?= data/incoming

.PHONY: help setup synth test lint format scan clean train package serve bench-serve cost \
	cost-readme image image-digest deploy deploy-preflight fetch-data smoke-test pipeline-definition \
	wheel test-wheel

help:
	@echo "make synth   set up, synthesize ENV=$(ENV) offline and print a summary"
	@echo "make test    set up, lint and run every test and gate"
	@echo "make lint    ruff check + format check;  make format  apply ruff format"
	@echo "make scan    checkov over cdk.out (own venv);  make clean  remove build output"
	@echo "make train   train, evaluate, register and package the model (model/artifacts/)"
	@echo "make serve PORT=8080   run the model server;  make bench-serve  benchmark it"
	@echo "make cost    monthly estimate of ENV/SERVING (FORMAT=json for machines)"
	@echo "make cost-readme  regenerate the README cost table (dev/prod x eks/sagemaker)"
	@echo "make image IMAGE=repo:tag   build the model-server image (trains first if model/artifacts is empty)"
	@echo "make wheel   build the library's sdist and wheel into dist/;  make test-wheel  install and try it"
	@echo "make deploy ENV=dev IMAGE_TAG=... [IMAGE_DIGEST=sha256:...] GITHUB_REPOSITORY=owner/name   npx cdk deploy --all"
	@echo "make image-digest IMAGE_TAG=...   print the digest of the tag in the account's repository"
	@echo "make smoke-test URL=... | OUTPUTS=cdk-outputs.json   POST the public contract"
	@echo "make pipeline-definition   regenerate the SageMaker pipeline JSON (sagemaker SDK venv)"

$(VENV)/.installed: requirements.txt requirements-dev.txt model/requirements.txt model/requirements-serve.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed node_modules/.installed

synth: setup
	rm -rf cdk.out
	npx cdk synth --quiet --no-notices $(CDK_CONTEXT) > /dev/null
	$(PY) scripts/synth_summary.py cdk.out

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: setup
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# The sagemaker SDK (~1 GB, ~1.5 min to install) regenerates the committed pipeline definition
# in tests/pipelines; it lives in its own venv so synth never needs it.
.venv-pipeline/.installed: requirements-pipeline.txt
	$(PYTHON) -m venv .venv-pipeline
	.venv-pipeline/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-pipeline.txt
	touch $@

pipeline-definition: .venv-pipeline/.installed
	.venv-pipeline/bin/python scripts/generate_pipeline.py

test: lint .venv-pipeline/.installed
	$(PY) -m pytest

.venv-scan/.installed: requirements-scan.txt
	$(PYTHON) -m venv .venv-scan
	.venv-scan/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-scan.txt
	touch $@

scan: synth .venv-scan/.installed
	.venv-scan/bin/checkov --config-file .checkov.yaml --directory cdk.out

# MODEL_DATA=dir trains on its CSV files (retrain.yml); GATE_REPORT=file records the gate's verdict.
train: setup
	$(MODEL_PY) -m fraud_model.train $(if $(MODEL_DATA),--data $(MODEL_DATA)) \
		$(if $(GATE_REPORT),--gate-report $(GATE_REPORT))

package: setup
	$(MODEL_PY) -m fraud_model.package

model/artifacts/model.onnx:
	$(MAKE) train

serve: setup model/artifacts/model.onnx
	$(MODEL_PY) -m fraud_model.server --port $(PORT)

bench-serve: setup model/artifacts/model.onnx
	$(PY) benchmarks/serve_bench.py

clean:
	rm -rf cdk.out cdk-outputs.json dist build *.egg-info .pytest_cache .ruff_cache

# Monthly cost estimate of one combination, synthesized into its own cloud assembly.
COST_OUT := cdk.out/cost-$(ENV)-$(or $(SERVING),default)

# Only the estimate goes to stdout, so `make cost FORMAT=json | jq` works.
cost: setup
	@rm -rf $(COST_OUT) && mkdir -p cdk.out
	@npx cdk synth --quiet --no-notices --app "$(PY) app.py" -o $(COST_OUT) $(CDK_CONTEXT) \
		> /dev/null 2> $(COST_OUT).log || { cat $(COST_OUT).log >&2; exit 1; }
	@$(PY) -m mlops_cdk.cost $(COST_OUT) --format $(FORMAT)

cost-readme: setup
	$(PY) scripts/cost_table.py

# The image packages model/artifacts/ (git-ignored): a fresh checkout trains the model first.
image: model/artifacts/model.onnx
	docker build -f model/Dockerfile -t "$(IMAGE)" model

wheel: setup
	rm -rf dist
	$(PY) -m build --outdir dist .

# The wheel-install test on the wheel in dist/ (release.yml runs it before publishing).
test-wheel: setup
	MLOPS_CDK_WHEEL="$$(ls dist/mlops_cdk-*.whl)" $(PY) -m pytest -q tests/test_wheel.py

# Refuses, before anything is installed or deployed, what would deploy something broken: no
# image tag (immutable tags never push `latest`) or the placeholder repository (the roles would
# trust, and the dispatcher would call, example-org/mlops-cdk).
deploy-preflight:
	@if [ -z '$(IMAGE_TAG)' ] || [ '$(IMAGE_TAG)' = latest ]; then \
		echo "make deploy needs IMAGE_TAG=<tag> of an image in the ECR repository (tags are" \
			"immutable, 'latest' is never pushed): build it with 'make image IMAGE=<repo-uri>:<tag>'," \
			"push it with 'docker push <repo-uri>:<tag>', then 'make deploy IMAGE_TAG=<tag>'" >&2; \
		exit 2; \
	fi
	@if [ -z '$(GITHUB_REPOSITORY)' ] || [ '$(GITHUB_REPOSITORY)' = '$(PLACEHOLDER_REPOSITORY)' ]; then \
		echo "make deploy needs GITHUB_REPOSITORY=<owner>/<name> (got '$(GITHUB_REPOSITORY)'):" \
			"the repository whose workflows the roles trust and the retraining dispatcher calls" >&2; \
		exit 2; \
	fi

# Prints only the digest of IMAGE_TAG in the account's shared repository (deploy.yml: once).
image-digest: setup
	@$(PY) scripts/resolve_image_digest.py --env '$(ENV)' --tag '$(IMAGE_TAG)'

deploy: deploy-preflight setup
	@$(PY) scripts/deploy_check.py --env '$(ENV)' -- $(CDK_CONTEXT) $(DEPLOY_FLAGS)
	npx cdk deploy --all --require-approval never --no-notices --outputs-file cdk-outputs.json \
		$(DEPLOY_FLAGS) $(CDK_CONTEXT)

# retrain.yml: the data named by the triggering event (EVENT_NAME, PAYLOAD, DATA_BUCKET env).
fetch-data: setup
	$(PY) scripts/fetch_training_data.py --dest $(DEST)

smoke-test: setup
	$(PY) scripts/smoke_test.py $(if $(URL),--url $(URL),--outputs-file $(OUTPUTS)) $(SMOKE_FLAGS)
