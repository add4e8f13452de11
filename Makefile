# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
PORT   ?= 8000

export DATABASE_URL ?= sqlite:///var/malipo.sqlite3
export MALIPO_PUBLIC_URL ?= http://127.0.0.1:$(PORT)

.PHONY: run test lint install services bench clean

$(STAMP): pyproject.toml
	scripts/ensure-system-packages.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

run: install
	$(BIN)/billing db upgrade
	$(BIN)/billing seed-demo
	$(BIN)/billing serve --port $(PORT)

services:
	scripts/ensure-services.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: install services lint
	$(BIN)/pytest -q

# Every benchmark, one after another (minutes). wrk, when it can be installed, drives the
# callback intake; without it bench/callbacks.py falls back to a Python client.
bench: install services
	command -v wrk >/dev/null || { [ "$$(id -u)" -eq 0 ] && apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } || true
	$(BIN)/python bench/ledger.py
	$(BIN)/python bench/callbacks.py
	$(BIN)/python bench/rating.py
	$(BIN)/python bench/authorize.py
	$(BIN)/python bench/invoices.py
	$(BIN)/python bench/invoicing.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
