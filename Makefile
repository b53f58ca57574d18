# mlops-cdk: `make synth` and `make test` are all a new user needs (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ENV ?= dev
SERVING ?=
IMAGE_TAG ?=
PORT ?= 8080
FORMAT ?= text

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := true

CDK_CONTEXT := -c env=$(ENV) $(if $(SERVING),-c serving=$(SERVING)) $(if $(IMAGE_TAG),-c image_tag=$(IMAGE_TAG))

MODEL_PY := PYTHONPATH=model $(PY)
IMAGE ?= model-server:dev
OUTPUTS ?=
URL ?=
SMOKE_FLAGS ?=
DEST ?= data/incoming

.PHONY: help setup synth test lint format scan clean train package serve bench-serve cost \
	cost-readme image deploy fetch-data smoke-test pipeline-definition wheel test-wheel \
	bootstrap-policy bootstrap

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
	@echo "make deploy ENV=dev IMAGE_TAG=...   npx cdk deploy --all, outputs to cdk-outputs.json"
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

deploy: setup
	npx cdk deploy --all --require-approval never --no-notices --outputs-file cdk-outputs.json $(CDK_CONTEXT)

# retrain.yml: the data named by the triggering event (EVENT_NAME, PAYLOAD, DATA_BUCKET env).
fetch-data: setup
	$(PY) scripts/fetch_training_data.py --dest $(DEST)

smoke-test: setup
	$(PY) scripts/smoke_test.py $(if $(URL),--url $(URL),--outputs-file $(OUTPUTS)) $(SMOKE_FLAGS)

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
