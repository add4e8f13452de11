# The two commands of the README: `make run` and `make test`.
# Debian's CPython (3.11 on bookworm) is built with profile-guided and link-time
# optimisation; a source build such as pyenv's default is not. Measured with callgrind,
# a warm invoice render costs 507 M instructions on it against 567 M, and the
# interpreter starts in a quarter of the instructions. Used when it is 3.11 or newer.
DEBIAN_PYTHON := $(shell /usr/bin/python3 -c 'import sys; print(sys.executable if sys.version_info >= (3, 11) else "")' 2>/dev/null)
PYTHON ?= $(or $(DEBIAN_PYTHON),python3)
VENV   := .venv
BIN    := $(VENV)/bin
# A new pyproject.toml or another interpreter makes a new virtual environment.
STAMP  := $(VENV)/.installed-$(shell (cat pyproject.toml; echo $(PYTHON)) | sha1sum | cut -c1-12)
PORT   ?= 8000

export DATABASE_URL ?= sqlite:///var/malipo.sqlite3
export MALIPO_PUBLIC_URL ?= http://127.0.0.1:$(PORT)

.PHONY: run test lint install services bench clean

# A linked .venv (a worktree sharing another checkout's) is refused, not cleared: the
# checkout's newer pyproject.toml would make the rule below wipe the other one.
$(STAMP): pyproject.toml
	@if [ -L $(VENV) ]; then echo "$(VENV) is a link: make it a directory of its own" >&2; exit 1; fi
	scripts/ensure-system-packages.sh $(PYTHON)
	$(PYTHON) -m venv --clear $(VENV)
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
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test: install services lint
	$(BIN)/pytest -q

# Every benchmark, one after another (minutes), then each figure beside its target
# (bench/all.py). wrk, when it can be installed, drives the callback intake; without it
# bench/callbacks.py falls back to a Python client.
bench: install services
	command -v wrk >/dev/null || { [ "$$(id -u)" -eq 0 ] && apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } || true
	$(BIN)/python bench/all.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
