# The two commands everything else builds on: `make run` and `make test`.
# The functions run on Lambda's python3.13 (infra/wiring.py LAMBDA_PYTHON): the tests and the local
# runtime run on the same version. Found on PATH, else in pyenv's versions; PYTHON=... overrides.
PYTHON_VERSION := 3.13
PYTHON ?= $(shell for p in python$(PYTHON_VERSION) $$HOME/.pyenv/versions/$(PYTHON_VERSION).*/bin/python$(PYTHON_VERSION); do \
            "$$p" -c 'import sys; assert sys.version_info[:2] == ($(subst .,$(comma),$(PYTHON_VERSION)))' 2>/dev/null && { echo "$$p"; break; }; done)
comma  := ,
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-py$(PYTHON_VERSION)-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test lint test-unit test-integration test-infra test-e2e bench synth clean reconcile soak rebuild-reports console console-if-node chromium

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python $(PYTHON_VERSION) is needed (the Lambda runtime's version): install it (e.g. pyenv install $(PYTHON_VERSION)) or pass PYTHON=/path/to/python$(PYTHON_VERSION)"; exit 1; }
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q '.[dev]'
	rm -rf build *.egg-info
	touch $@

venv: $(STAMP)

# The operator console (dashboard/, served at /dashboard): npm packages from package-lock.json (no browser
# download), then a Vite build into dashboard/dist (not committed).
NPM_STAMP := node_modules/.installed-$(shell cksum package-lock.json | cut -d' ' -f1)
CONSOLE_SOURCES := $(shell find dashboard -path dashboard/dist -prune -o -type f -print)

$(NPM_STAMP): package-lock.json
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
	touch $@

dashboard/dist/index.html: $(NPM_STAMP) $(CONSOLE_SOURCES)
	npm run --silent build:dashboard

console: dashboard/dist/index.html

# `make run` builds the console when Node.js is there; without it the API runs alone.
console-if-node:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory console; \
	 else echo "npm not found: the console (/dashboard) is not built; install Node.js for it. The API runs without it."; fi

# The browser test's Chromium: Debian's package (never a browser download), installed when missing and root.
chromium:
	@test -x /usr/bin/chromium || { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "/usr/bin/chromium is missing: install Debian's chromium for the browser test (tests/e2e/test_console.py)"; fi; }

## Start the OMS locally on an embedded moto server with demo data (port: OMS_PORT, default 8080).
run: $(STAMP) console-if-node
	$(PY) -m local.runtime

## Run the whole test suite: lint and types first, then every test (the console's browser test too).
test: lint console chromium
	$(PY) -m pytest -n 2 --dist loadfile

## ruff (pyflakes, bugbear, imports, pyupgrade, no blind except) and mypy.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test-unit: $(STAMP)
	$(PY) -m pytest -m unit

test-integration: $(STAMP)
	$(PY) -m pytest -m integration

test-infra: $(STAMP)
	$(PY) -m pytest -m infra

test-e2e: $(STAMP) console chromium
	$(PY) -m pytest -m e2e

## Push N orders through the local runtime and print throughput, latency and AWS calls per order.
bench: $(STAMP)
	$(PY) -m bench.capture_throughput

## Soak: ORDERS orders through the local runtime with faults injected, then every invariant checked over the
## whole table (bench/soak.py, docs/reliability.md). Not part of `make test` (a short one is).
ORDERS ?= 3000
SEED ?= 7
soak: $(STAMP)
	$(PY) -m bench.soak --orders $(ORDERS) --seed $(SEED)

## Run one reconciliation now against a running `make run` (POST /admin/reconcile, operator key).
reconcile: $(STAMP)
	$(PY) -m local.reconcile

## Check the live report aggregates against a rebuild, or rebuild them (docs/reports.md):
## make rebuild-reports ARGS="check --from 2026-01 --to 2026-03 [--endpoint-url http://127.0.0.1:<moto port>]"
ARGS ?= check
rebuild-reports: $(STAMP)
	$(PY) -m local.rebuild_reports $(ARGS)

## Synthesise the CloudFormation template without the CDK CLI or credentials.
synth: $(STAMP)
	$(PY) infra/app.py

clean:
	rm -rf $(VENV) cdk.out .local-outbox dashboard/dist tests/artifacts
