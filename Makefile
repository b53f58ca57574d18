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
# The release make promote makes champion (the N of the image tag -mN; docs/cicd.md).
MODEL_VERSION ?=
# A canary on EKS: the new tag beside IMAGE_TAG (the stable one), getting CANARY_PERCENT of requests.
CANARY_IMAGE_TAG ?=
CANARY_PERCENT ?=
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
# Progressive delivery: minutes of canary analysis, whether to wait, extra scripts/canary.py flags.
MINUTES ?= 15
WAIT ?=
CANARY_FLAGS ?=
# `true` once the repository's OIDC subject template names the workflow (docs/cicd.md).
GITHUB_BIND_WORKFLOW ?=
# Overrides of the engine configured for ENV (a preview: make deploy warns when it differs).
SERVING_ENGINE ?=
IMAGE ?= model-server:dev
OUTPUTS ?=
URL ?=
SMOKE_FLAGS ?=
DEST ?= data/incoming

# No shell injection through make: before any recipe runs (and before any value is expanded),
# every variable that reaches a command is checked against its pattern by
# scripts/check_make_vars.py, which gets each one's unexpanded text as one single-quoted
# argument; a bad value stops make with a message naming the variable. `q` single-quotes a
# value for the shell.
q = '$(subst ','\'',$(1))'
CHECKED_VARS := ENV SERVING SERVING_ENGINE IMAGE_TAG IMAGE_DIGEST CANARY_IMAGE_TAG CANARY_PERCENT \
	IMAGE GITHUB_REPOSITORY GITHUB_OIDC_PROVIDER_ARN GITHUB_BIND_WORKFLOW URL OUTPUTS DEST MODEL_DATA GATE_REPORT CAPTURE \
	BASELINE INPUT_PREFIX FORMAT PORT HOST CAPTURE_PERCENT SMOKE_FLAGS DEPLOY_FLAGS MODEL_VERSION \
	MINUTES WAIT CANARY_FLAGS
VARS_CHECK := $(shell $(PYTHON) $(dir $(firstword $(MAKEFILE_LIST)))scripts/check_make_vars.py \
	$(foreach name,$(CHECKED_VARS),$(call q,$(name)=$(value $(name)))))
ifneq ($(VARS_CHECK),ok)
$(error $(or $(VARS_CHECK),could not run scripts/check_make_vars.py with PYTHON=$(PYTHON)))
endif

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := true

CDK_CONTEXT := -c env=$(call q,$(ENV)) $(if $(SERVING),-c serving=$(call q,$(SERVING))) \
	$(if $(SERVING_ENGINE),-c serving_engine=$(call q,$(SERVING_ENGINE))) \
	$(if $(IMAGE_TAG),-c image_tag=$(call q,$(IMAGE_TAG))) \
	$(if $(IMAGE_DIGEST),-c image_digest=$(call q,$(IMAGE_DIGEST))) \
	$(if $(CANARY_IMAGE_TAG),-c canary_image_tag=$(call q,$(CANARY_IMAGE_TAG))) \
	$(if $(CANARY_PERCENT),-c canary_percent=$(call q,$(CANARY_PERCENT))) \
	$(if $(GITHUB_REPOSITORY),-c github_repository=$(call q,$(GITHUB_REPOSITORY))) \
	$(if $(GITHUB_OIDC_PROVIDER_ARN),-c github_oidc_provider_arn=$(call q,$(GITHUB_OIDC_PROVIDER_ARN))) \
	$(if $(GITHUB_BIND_WORKFLOW),-c github_bind_workflow=$(call q,$(GITHUB_BIND_WORKFLOW)))

MODEL_PY := PYTHONPATH=model $(PY)

.PHONY: help setup synth test lint format scan clean train package serve bench-serve cost \
	cost-readme image image-digest deploy deploy-preflight fetch-data smoke-test \
	pipeline-definition wheel test-wheel lock check-vars bootstrap-policy bootstrap canary-plan \
	canary-status canary-analyze

help:
	@echo "make synth   set up, synthesize ENV=$(ENV) offline and print a summary"
	@echo "make test    set up, lint and run every test and gate"
	@echo "make lint    ruff check + format check;  make format  apply ruff format"
	@echo "make scan    checkov over cdk.out (own venv);  make clean  remove build output"
	@echo "make train   train, evaluate, register and package the model (model/artifacts/)"
	@echo "make promote MODEL_VERSION=<v> IMAGE_TAG=<tag>   make a release champion;  make rollback"
	@echo "make serve PORT=8080   run the model server;  make bench-serve  benchmark it"
	@echo "make cost    monthly estimate of ENV/SERVING (FORMAT=json for machines)"
	@echo "make cost-readme  regenerate the README cost table (dev/prod x eks/sagemaker)"
	@echo "make image IMAGE=repo:tag   build the model-server image (trains first if model/artifacts is empty)"
	@echo "make wheel   build the library's sdist and wheel into dist/;  make test-wheel  install and try it"
	@echo "make lock    recompile the hashed *.lock files after editing a requirements*.txt"
	@echo "make deploy ENV=dev IMAGE_TAG=... [IMAGE_DIGEST=sha256:...] GITHUB_REPOSITORY=owner/name   npx cdk deploy --all"
	@echo "make image-digest IMAGE_TAG=...   print the digest of the tag in the account's repository"
	@echo "make smoke-test URL=... | OUTPUTS=cdk-outputs.json   POST the public contract"
	@echo "make canary-status ENV=prod   both tags, the listener weights and the alarm states"
	@echo "make canary-analyze ENV=prod MINUTES=15   judge the canary's last MINUTES (WAIT=true waits first)"
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
	$(PY) -m scripts.synth_summary cdk.out

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
	.venv-pipeline/bin/python -m scripts.generate_pipeline

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
	$(MODEL_PY) -m fraud_model.train $(if $(MODEL_DATA),--data $(call q,$(MODEL_DATA))) \
		$(if $(GATE_REPORT),--gate-report $(call q,$(GATE_REPORT)))

package: setup
	$(MODEL_PY) -m fraud_model.package

model/artifacts/model.onnx:
	$(MAKE) train

# Challenger and champion (docs/cicd.md): after the prod deploy, promote makes the release
# MODEL_VERSION (deployed as IMAGE_TAG) the champion; rollback goes back to the previous one and
# prints the image tag to redeploy. Both values are checked while make is read (CHECKED_VARS),
# and again by promotion.py.
.PHONY: promote rollback
promote: setup
	$(MODEL_PY) -m fraud_model.promotion promote --model-version $(call q,$(MODEL_VERSION)) \
		--image-tag $(call q,$(IMAGE_TAG))

rollback: setup
	$(MODEL_PY) -m fraud_model.promotion rollback

# Loopback by default; HOST=0.0.0.0 to listen on every interface (the image does).
# CAPTURE_PERCENT=100 prints a capture line per request to stdout (docs/drift.md).
serve: setup model/artifacts/model.onnx
	$(MODEL_PY) -m fraud_model.server --host $(call q,$(or $(HOST),127.0.0.1)) --port $(call q,$(PORT)) \
		$(if $(CAPTURE_PERCENT),--capture-percent $(call q,$(CAPTURE_PERCENT)))

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
	@$(PY) -m mlops_cdk.cost $(COST_OUT) --format $(call q,$(FORMAT))

cost-readme: setup
	$(PY) -m scripts.cost_table

# The image packages model/artifacts/ (git-ignored): a fresh checkout trains the model first.
image: model/artifacts/model.onnx
	docker build -f model/Dockerfile -t $(call q,$(IMAGE)) model

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

# The variables were checked while the Makefile was read; workflows validate their inputs with
# `make check-vars IMAGE_TAG="$$IMAGE_TAG" ...` before using them.
check-vars:
	@echo "make variables ok"

# Refuses, before anything is installed or deployed, what would deploy something broken: no
# image tag (immutable tags never push `latest`) or the placeholder repository (the roles would
# trust, and the dispatcher would call, example-org/mlops-cdk).
deploy-preflight:
	@if [ -z $(call q,$(IMAGE_TAG)) ] || [ $(call q,$(IMAGE_TAG)) = latest ]; then \
		echo "make deploy needs IMAGE_TAG=<tag> of an image in the ECR repository (tags are" \
			"immutable, 'latest' is never pushed): build it with 'make image IMAGE=<repo-uri>:<tag>'," \
			"push it with 'docker push <repo-uri>:<tag>', then 'make deploy IMAGE_TAG=<tag>'" >&2; \
		exit 2; \
	fi
	@if [ -z $(call q,$(GITHUB_REPOSITORY)) ] || \
		[ $(call q,$(GITHUB_REPOSITORY)) = '$(PLACEHOLDER_REPOSITORY)' ]; then \
		echo "make deploy needs GITHUB_REPOSITORY=<owner>/<name> (got '"$(call q,$(GITHUB_REPOSITORY))"'):" \
			"the repository whose workflows the roles trust and the retraining dispatcher calls" >&2; \
		exit 2; \
	fi

# Prints only the digest of IMAGE_TAG in the account's shared repository (deploy.yml: once).
image-digest: setup
	@$(PY) -m scripts.resolve_image_digest --env $(call q,$(ENV)) --tag $(call q,$(IMAGE_TAG))

deploy: deploy-preflight setup
	@$(PY) -m scripts.deploy_check --env $(call q,$(ENV)) -- $(CDK_CONTEXT) $(DEPLOY_FLAGS)
	npx cdk deploy --all --require-approval never --no-notices --outputs-file cdk-outputs.json \
		$(DEPLOY_FLAGS) $(CDK_CONTEXT)

# Progressive delivery (scripts/canary.py; docs/cicd.md "Release flow"). CANARY_FLAGS adds
# options, e.g. --assume-lookup-role in CI, --min-requests 50.
CANARY_ARGS = --env $(call q,$(ENV)) $(if $(SERVING),--serving $(call q,$(SERVING))) $(CANARY_FLAGS)

# How IMAGE_TAG is released (canary, blue-green or direct); in a workflow, into $GITHUB_OUTPUT.
canary-plan: setup
	$(PY) -m scripts.canary plan $(CANARY_ARGS) --new-tag $(call q,$(IMAGE_TAG))

canary-status: setup
	$(PY) -m scripts.canary status $(CANARY_ARGS)

# Exits 1 saying why when the canary (or SageMaker's blue/green update to IMAGE_TAG) failed.
canary-analyze: setup
	$(PY) -m scripts.canary analyze $(CANARY_ARGS) --minutes $(call q,$(MINUTES)) \
		$(if $(WAIT),--wait) $(if $(IMAGE_TAG),--expect-tag $(call q,$(IMAGE_TAG)))

# retrain.yml: the data named by the triggering event (EVENT_NAME, PAYLOAD, DATA_BUCKET env).
fetch-data: setup
	$(PY) -m scripts.fetch_training_data --dest $(call q,$(DEST))

smoke-test: setup
	$(PY) -m scripts.smoke_test \
		$(if $(URL),--url $(call q,$(URL)),--outputs-file $(call q,$(OUTPUTS))) $(SMOKE_FLAGS)

# PSI of a directory of capture JSONL (e.g. `aws s3 sync s3://<artifacts>/capture/<env>/ ./capture`)
# against the training baseline; FORMAT=json prints one JSON object. See docs/drift.md.
BASELINE ?= model/artifacts/baseline.json
.PHONY: drift
drift: setup
	@test -n $(call q,$(CAPTURE)) || { echo "set CAPTURE=<directory of capture .jsonl files>" >&2; exit 2; }
	@$(PY) -m mlops_cdk.drift --capture $(call q,$(CAPTURE)) --baseline $(call q,$(BASELINE)) \
		--format $(call q,$(FORMAT))

# One-time bootstrap of ENV with its own qualifier, execution policy and permissions boundary
# (docs/cicd.md, "Bootstrap"). ENV was checked with every other variable before this runs.

# Only the policy goes to stdout, so `make bootstrap-policy ENV=prod | jq` works.
bootstrap-policy: $(VENV)/.installed
	@$(PY) -m scripts.bootstrap policy --env $(call q,$(ENV))

bootstrap: setup
	$(PY) -m scripts.bootstrap bootstrap --env $(call q,$(ENV))
