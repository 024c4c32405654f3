# Closeout: `make run` opens the app (demo mode with no accounts), `make test` runs every check
# headless under a hard timeout. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# A hung qasync test ignores SIGINT and pytest-timeout, so the whole run sits under timeout(1).
TEST_TIMEOUT ?= 1800

.PHONY: all run test lint typecheck unit screenshot sim bench clean

all: test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/closeout $(ARGS)

sim: $(STAMP)
	$(PY) -m core.sim $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check core gui cli tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy core cli gui

test: lint typecheck
	QT_QPA_PLATFORM=offscreen timeout --signal=TERM --kill-after=30 $(TEST_TIMEOUT) \
		$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

screenshot: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/closeout --screenshot docs/screenshot.png

bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m bench

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache
