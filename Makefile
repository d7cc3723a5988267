# Meridian: `make run` starts the service, `make test` runs every test.
# Both create .venv themselves; `make test` as root also installs the Debian packages
# the tests need (redis-server, postgresql, chromium, nginx-light) when they are missing.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUM := $(shell cksum pyproject.toml | cut -d' ' -f1)
# `make run` installs only what serving needs; `make test` and the tools add the rest.
RUN_STAMP := $(VENV)/.installed-run-$(SUM)
STAMP := $(VENV)/.installed-dev-$(SUM)

.PHONY: run test lint format bench demo migrate system-packages clean

$(RUN_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	@rm -f $(VENV)/.installed-run-* && touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-dev-* && touch $(STAMP)

run: $(RUN_STAMP)
	$(BIN)/python -m server serve

migrate: $(RUN_STAMP)
	$(BIN)/python -m server migrate

demo: $(RUN_STAMP)
	$(BIN)/python -m server seed-demo

system-packages:
	@scripts/install-system-packages

test: $(STAMP) system-packages
	MERIDIAN_REQUIRE_SERVICES=$$( [ "$$(id -u)" = 0 ] && echo 1 || echo 0 ) $(BIN)/pytest
	$(MAKE) --no-print-directory lint

lint: $(STAMP)
	$(BIN)/ruff check server tests bench
	$(BIN)/ruff format --check server tests bench
	$(BIN)/mypy --strict server
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format server tests bench
	$(BIN)/ruff check --fix server tests bench

bench: $(STAMP) system-packages
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
