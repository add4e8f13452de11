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

bench: install services
	$(BIN)/python bench/ledger.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
