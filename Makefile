# The README's two commands. Both set up what they need on a fresh Debian machine.
# Debian's Python when there is one: learners' servers on the local hub run as their own system
# users, who must be able to run the venv's interpreter (a Python under /root would be unreachable).
PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: start test system-test-packages hub-packages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# As root `se4u start` runs the cohort hub (it creates the accounts), which needs the proxy from npm;
# otherwise it serves one learner's Voilà and needs nothing more.
start: $(VENV)/.installed hub-packages
	$(BIN)/se4u start

hub-packages:
	@if [ "$$(id -u)" = 0 ]; then \
	  command -v npm >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm; }; \
	  $(MAKE) --no-print-directory node_modules/axe-core/axe.min.js; \
	fi

system-test-packages:
	@if [ ! -x /usr/bin/chromium ] || ! command -v npm >/dev/null || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core postgresql $$(command -v npm >/dev/null || echo nodejs npm); \
	fi

node_modules/axe-core/axe.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

test: $(VENV)/.installed-test system-test-packages node_modules/axe-core/axe.min.js
	$(BIN)/ruff check widgets tests
	$(BIN)/se4u build --check
	$(BIN)/python -m pytest $(PYTEST_ARGS)
