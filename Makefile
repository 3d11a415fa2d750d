# Two entry points for a fresh machine (see README): `make run` and `make test`.
# Everything is installed from the project's own files: requirements*.txt and package.json.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAGE ?= dev
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export AWS_REGION ?= eu-west-1
export AWS_EC2_METADATA_DISABLED := true
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# pip's --no-compile, then the bytecode compiled on every core (local_runner/bytecode.py): pip
# compiles serially.

.PHONY: setup run test lint clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt runtime_scripts/requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --no-compile -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-compile --no-deps -e .
	$(PY) -m local_runner.bytecode
	touch $@

# The tests run every use case, so they need every use case's own dependencies (resolved together
# with the platform's, so no pin is silently replaced; local_runner/use_case_requirements.py);
# `make run` installs only what it runs.
USE_CASE_REQUIREMENTS := $(sort $(wildcard runtime_scripts/use_cases/*/requirements*.txt \
	runtime_scripts/use_cases/*/manifest.py))
$(VENV)/.use-cases-installed: $(VENV)/.installed $(USE_CASE_REQUIREMENTS)
	$(PY) -m local_runner.use_case_requirements
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The main job: for every use case the stage deploys (its use_cases; USE_CASE=<name> for one),
# the training pipeline then batch inference, executed locally end to end (synthesized state
# machines, AWS emulated, the real scripts on each use case's sample data).
USE_CASE ?= all
run: setup
	$(VENV)/bin/mlplatform run training batch-inference --use-case $(USE_CASE) --stage $(STAGE)

lint: setup
	$(PY) -m ruff check .

# Test files are spread over TEST_WORKERS processes, each file whole in one of them (its module
# fixtures, such as one local execution shared by its tests, run once), the checks of every
# synth variant together in one (tests/conftest.py's scheduler).
TEST_WORKERS ?= 2
test: lint $(VENV)/.use-cases-installed
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache
