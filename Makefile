# Caseline: `make dev` runs the product locally, `make test` runs every check. Nothing to install by hand.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV_VERSION := 0.13.8
VENV := .venv
PY := $(VENV)/bin/python
UV := $(or $(shell command -v uv 2>/dev/null),.tools/bin/uv)
SERVICES := cases timeline automations portal tasks search insight
export UV_PYTHON_DOWNLOADS := never
# jsii warns on every run that Node 20 is past its end of life; the machine ships Node 20.
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1

CHROMIUM := /usr/bin/chromium
AXE := tests/e2e/axe/node_modules/axe-core/axe.min.js
# ESLint for the console's ES modules, from npm with a lock file; outside console/, which is deployed as it is.
ESLINT := tools/eslint/node_modules/.bin/eslint
# Spectral and Redocly from npm with a lock file: the merged OpenAPI document's linters (tests/e2e) and the page
# of the API reference (Redocly's build-docs, with Redoc's bundle inlined).
APILINT := tools/apilint/node_modules/.bin
REDOCLY := $(APILINT)/redocly
REFERENCE := build/reference

.PHONY: help install browser apilint dev test lint format build reference sdk bench clean portal-catalogs console-catalogs

help:
	@echo "make dev    start the whole product locally (moto, six services, demo tenant), the API reference at /reference"
	@echo "make test   install what is needed, lint, run every test"
	@echo "make lint   ruff + mypy + eslint (the console)"
	@echo "make build  the Lambda packages CDK deploys (arm64, build/lambda/<service>/), and the API reference"
	@echo "           (build/reference/); memory and timeouts are CDK's (infra/functions.py), not Chalice's config"
	@echo "make reference  the API reference alone: build/reference/openapi.json and index.html"
	@echo "make sdk    generate the typed Python client from the OpenAPI document: build/sdk/dist/*.whl"
	@echo "make bench  print AWS calls, latency ratios and cold starts"

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.synced: uv.lock pyproject.toml services/common/pyproject.toml | $(UV)
	$(UV) sync --frozen --python python3.11
	@touch $@

install: $(VENV)/.synced

# The portal's browser tests: Debian's Chromium (never a browser build of Playwright's own) and axe-core from npm.
browser: $(CHROMIUM) $(AXE)

$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then sudo=; \
	elif command -v sudo >/dev/null 2>&1; then sudo=sudo; \
	else echo "Chromium ($(CHROMIUM)) is missing: run 'make browser' as root or install sudo." >&2; exit 1; fi; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium
	@test -x $@ || { echo "apt-get finished but $@ is still missing" >&2; exit 1; }

$(AXE): tests/e2e/axe/package.json tests/e2e/axe/package-lock.json
	npm ci --prefix tests/e2e/axe --no-audit --no-fund
	@touch $@

$(ESLINT): tools/eslint/package.json tools/eslint/package-lock.json
	npm ci --prefix tools/eslint --no-audit --no-fund
	@touch $@

apilint: $(REDOCLY)

$(REDOCLY): tools/apilint/package.json tools/apilint/package-lock.json
	npm ci --prefix tools/apilint --no-audit --no-fund
	@touch $@

# The reference needs npm; without it the product still runs, and /docs still shows the API.
dev: install
	@$(MAKE) --no-print-directory reference || echo "No API reference at /reference: rendering it needs npm." >&2
	$(VENV)/bin/caseline dev

# mypy reads the tests as pytest imports them: tests/ and each test directory without __init__.py are on the path
# (so `import case_domain`, `import chains`), which makes each such directory one run of its own; tests/infra imports
# its conftest as tests.infra.conftest. The services' modules the tests use are checked as services.<name>.chalicelib.
lint: install $(ESLINT)
	$(ESLINT) --config tools/eslint/eslint.config.js console/js
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy caseline services/common/caseline_common bench infra tests/infra
	MYPYPATH=tests $(VENV)/bin/mypy tests/*.py tests/integration
	@for dir in unit e2e; do \
		MYPYPATH=tests:tests/$$dir $(VENV)/bin/mypy tests/$$dir || exit 1; \
	done
	@for service in $(SERVICES); do \
		(cd services/$$service && ../../$(VENV)/bin/mypy --config-file ../../pyproject.toml app.py chalicelib) || exit 1; \
	done

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Two workers (the machines have two cores; much of the suite waits on a browser, a queue or the emulator), a test
# module whole in one, so its module fixtures are made once.
test: lint browser reference
	$(VENV)/bin/pytest -n 2 --dist loadfile

# The very packages `caseline tenant synth` deploys (infra/package.py: arm64, byte code, the entry module).
build: install reference
	$(PY) -m infra.package

# One static page (Redoc inlined, nothing loaded from elsewhere) any bucket or web server can serve.
reference: install apilint
	$(VENV)/bin/caseline openapi --out $(REFERENCE)/openapi.json
	$(REDOCLY) build-docs $(REFERENCE)/openapi.json --config tools/apilint/redocly.yaml --inlineBundle \
		--template tools/apilint/reference.hbs --title "Caseline API reference" --output $(REFERENCE)/index.html

# The typed client integrators install: generated from the document the API serves, never edited by hand.
sdk: install
	@mkdir -p build/sdk
	$(VENV)/bin/caseline openapi --out build/sdk/openapi.json
	$(VENV)/bin/caseline sdk build/sdk/openapi.json --out build/sdk

bench: install
	$(PY) -m bench

# After changing the portal's English (services/portal/chalicelib/strings.py): its template and every catalog updated.
portal-catalogs: install
	$(PY) tools/portal_catalogs.py

console-catalogs: install
	$(PY) tools/console_catalogs.py

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache services/*/vendor test-output
