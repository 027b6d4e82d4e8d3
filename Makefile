# The two commands everything else builds on: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test test-unit test-integration test-infra test-e2e bench synth clean reconcile

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q '.[dev]'
	rm -rf build *.egg-info
	rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

## Start the OMS locally on an embedded moto server with demo data (port: OMS_PORT, default 8080).
run: $(STAMP)
	$(PY) -m local.runtime

## Run the whole test suite.
test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadfile

test-unit: $(STAMP)
	$(PY) -m pytest -m unit

test-integration: $(STAMP)
	$(PY) -m pytest -m integration

test-infra: $(STAMP)
	$(PY) -m pytest -m infra

test-e2e: $(STAMP)
	$(PY) -m pytest -m e2e

## Push N orders through the local runtime and print throughput, latency and AWS calls per order.
bench: $(STAMP)
	$(PY) -m bench.capture_throughput

## Run one reconciliation now against a running `make run` (POST /admin/reconcile, operator key).
reconcile: $(STAMP)
	$(PY) -m local.reconcile

## Synthesise the CloudFormation template without the CDK CLI or credentials.
synth: $(STAMP)
	$(PY) infra/app.py

clean:
	rm -rf $(VENV) cdk.out .local-outbox
