# Two commands for a fresh machine with Python 3.11+:
#   make book   build the book (creates .venv, installs, executes every chapter)
#   make test   install what the tests need (Chromium included) and run every test
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TORCH := torch==2.13.0
JOBS ?= 2

.PHONY: book test unit bench chromium vendor lock clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ needed, found " + sys.version'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# torch first and pinned: a range that admits a newer torch would pull the CUDA build.
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -c constraints.txt -e ".[book,test]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

# Vendored JavaScript so charts, bertviz and widgets render with no internet.
vendor: $(STAMP)
	$(BIN)/python scripts/vendor_assets.py

book: $(STAMP) vendor
	$(BIN)/jupyter-book build -W -n --keep-going . 
	@echo "Book: $$(pwd)/_build/html/index.html"

chromium:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; }
	@chromium --version

test: $(STAMP) chromium book
	$(BIN)/python -m pytest -n $(JOBS) --dist loadscope tests chapters --nbval-lax

unit: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) --dist loadscope tests -m "not book"

bench: $(STAMP)
	$(BIN)/python scripts/bench.py
	$(BIN)/python scripts/bench_attention.py

lock: $(STAMP)
	{ head -2 constraints.txt; $(BIN)/pip freeze --exclude-editable | sed 's/+cpu$$//'; } > constraints.tmp && mv constraints.tmp constraints.txt

clean:
	rm -rf _build book/_vendor .pytest_cache
