# mlops-cdk: `make synth` and `make test` are all a new user needs (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ENV ?= dev
SERVING ?=
IMAGE_TAG ?=
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
	$(if $(IMAGE_TAG),-c image_tag='$(IMAGE_TAG)') \
	$(if $(GITHUB_REPOSITORY),-c github_repository='$(GITHUB_REPOSITORY)') \
	$(if $(GITHUB_OIDC_PROVIDER_ARN),-c github_oidc_provider_arn='$(GITHUB_OIDC_PROVIDER_ARN)')

MODEL_PY := PYTHONPATH=model $(PY)
IMAGE ?= model-server:dev
OUTPUTS ?=
URL ?=
SMOKE_FLAGS ?=
DEST ?= data/incoming

.PHONY: help setup synth test lint format scan clean train package serve bench-serve cost \
	cost-readme image deploy deploy-preflight fetch-data smoke-test pipeline-definition \
	wheel test-wheel lock bootstrap-policy bootstrap

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
	@echo "make lock    recompile the hashed *.lock files after editing a requirements*.txt"
	@echo "make deploy ENV=dev IMAGE_TAG=... GITHUB_REPOSITORY=owner/name   npx cdk deploy --all"
	@echo "make smoke-test URL=... | OUTPUTS=cdk-outputs.json   POST the public contract"
	@echo "make pipeline-definition   regenerate the SageMaker pipeline JSON (sagemaker SDK venv)"

# Every venv installs from a lock: exact versions of every transitive dependency, each with its
# hashes (--require-hashes). The requirements*.txt files name what we depend on; `make lock`
# compiles them into the *.lock files.
PIP_INSTALL := -m pip install --quiet --disable-pip-version-check --require-hashes
LOCKS := requirements-dev.lock requirements-pipeline.lock requirements-scan.lock \
	model/requirements-serve.lock requirements-tools.lock
PIP_COMPILE := .venv-tools/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
	--strip-extras --no-emit-index-url --no-emit-find-links

$(VENV)/.installed: requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) $(PIP_INSTALL) -r requirements-dev.lock
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
.venv-pipeline/.installed: requirements-pipeline.lock
	$(PYTHON) -m venv .venv-pipeline
	.venv-pipeline/bin/python $(PIP_INSTALL) -r requirements-pipeline.lock
	touch $@

pipeline-definition: .venv-pipeline/.installed
	.venv-pipeline/bin/python scripts/generate_pipeline.py

test: lint .venv-pipeline/.installed
	$(PY) -m pytest

.venv-scan/.installed: requirements-scan.lock
	$(PYTHON) -m venv .venv-scan
	.venv-scan/bin/python $(PIP_INSTALL) -r requirements-scan.lock
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

# Loopback by default; HOST=0.0.0.0 to listen on every interface (the image does).
# CAPTURE_PERCENT=100 prints a capture line per request to stdout (docs/drift.md).
serve: setup model/artifacts/model.onnx
	$(MODEL_PY) -m fraud_model.server --host $(or $(HOST),127.0.0.1) --port $(PORT) \
		$(if $(CAPTURE_PERCENT),--capture-percent $(CAPTURE_PERCENT))

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

# No build isolation: setuptools and wheel come from the lock, like everything else.
wheel: setup
	rm -rf dist
	$(PY) -m build --no-isolation --outdir dist .

.venv-tools/.installed: requirements-tools.lock
	$(PYTHON) -m venv .venv-tools
	.venv-tools/bin/python $(PIP_INSTALL) -r requirements-tools.lock
	touch $@

# Regenerate every lock after editing a requirements*.txt (resolves against PyPI: minutes).
lock: .venv-tools/.installed
	$(PIP_COMPILE) -o requirements-dev.lock requirements-dev.txt
	$(PIP_COMPILE) -o requirements-pipeline.lock requirements-pipeline.txt
	$(PIP_COMPILE) -o requirements-scan.lock requirements-scan.txt
	$(PIP_COMPILE) -o model/requirements-serve.lock model/requirements-serve.txt
	$(PIP_COMPILE) -o requirements-tools.lock requirements-tools.txt

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

deploy: deploy-preflight setup
	npx cdk deploy --all --require-approval never --no-notices --outputs-file cdk-outputs.json \
		$(DEPLOY_FLAGS) $(CDK_CONTEXT)

# retrain.yml: the data named by the triggering event (EVENT_NAME, PAYLOAD, DATA_BUCKET env).
fetch-data: setup
	$(PY) scripts/fetch_training_data.py --dest $(DEST)

smoke-test: setup
	$(PY) scripts/smoke_test.py $(if $(URL),--url $(URL),--outputs-file $(OUTPUTS)) $(SMOKE_FLAGS)

# PSI of a directory of capture JSONL (e.g. `aws s3 sync s3://<artifacts>/capture/<env>/ ./capture`)
# against the training baseline; FORMAT=json prints one JSON object. See docs/drift.md.
BASELINE ?= model/artifacts/baseline.json
.PHONY: drift
drift: setup
	@test -n "$(CAPTURE)" || { echo "set CAPTURE=<directory of capture .jsonl files>" >&2; exit 2; }
	@$(PY) -m mlops_cdk.drift --capture "$(CAPTURE)" --baseline "$(BASELINE)" --format "$(FORMAT)"

# One-time bootstrap of ENV with its own qualifier, execution policy and permissions boundary
# (docs/cicd.md, "Bootstrap"). ENV reaches the shell only after it is checked here, unexpanded.
ifneq ($(filter bootstrap bootstrap-policy,$(MAKECMDGOALS)),)
ifneq ($(words $(value ENV)):$(filter dev staging prod,$(value ENV)),1:$(strip $(value ENV)))
$(error ENV='$(value ENV)' is not an environment; use ENV=dev, ENV=staging or ENV=prod)
endif
endif

# Only the policy goes to stdout, so `make bootstrap-policy ENV=prod | jq` works.
bootstrap-policy: $(VENV)/.installed
	@$(PY) scripts/bootstrap.py policy --env "$(ENV)"

bootstrap: setup
	$(PY) scripts/bootstrap.py bootstrap --env "$(ENV)"
