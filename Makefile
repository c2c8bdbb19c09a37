# Development tasks. Needs only python3 (3.11+), pip, make and git.
#   make dev    Temporal dev server + gateway (http://127.0.0.1:8288) + worker for $(APP);
#               other ports: make dev DEV_ARGS="--port 9288 --temporal-port 7300 --ui-port 8300"
#   make test   the test suite
#   make lint   ruff, if installed in the venv (pip install ruff)

VENV ?= .venv
PYTHON ?= python3
APP ?= examples.shop
DEV_ARGS ?=
PYTEST_ARGS ?=

BIN := $(VENV)/bin
# Reinstall only when the dependencies change.
STAMP := $(VENV)/.installed-stamp

.PHONY: setup ts-app dev test lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

dev: setup
	$(BIN)/inngest-temporal dev --app $(APP) $(DEV_ARGS)

# The stock TypeScript SDK app the bridge tests serve (npm `inngest`, pinned by package-lock.json).
TS_APP := tests/bridge/ts_app
TS_STAMP := $(TS_APP)/node_modules/.installed-stamp

$(TS_STAMP): $(TS_APP)/package.json $(TS_APP)/package-lock.json
	@command -v npm > /dev/null || { echo "make test: npm (Node.js 20+) is needed for $(TS_APP)" >&2; exit 1; }
	npm ci --prefix $(TS_APP) --no-audit --no-fund --loglevel=error
	@touch $@

ts-app: $(TS_STAMP)

# pytest exits 5 when it collected nothing: treat that as a failure, not as green.
test: setup $(TS_STAMP)
	@$(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then \
		echo "make test: pytest collected no tests (exit 5); failing" >&2; exit 1; \
	fi; \
	exit $$status

lint: setup
	@if $(BIN)/python -m ruff --version > /dev/null 2>&1; then \
		$(BIN)/python -m ruff check compat temporal_worker gateway tests; \
	else \
		echo "make lint: ruff is not installed in $(VENV); run $(BIN)/python -m pip install ruff" >&2; exit 1; \
	fi

clean:
	rm -rf $(VENV) $(TS_APP)/node_modules
