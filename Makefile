# `make run`: the chat UI on the bundled sample articles. `make test`: ruff, mypy and pytest.
VENV   := .venv
BIN    := $(VENV)/bin
PYTHON ?= python3

.PHONY: run test index bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# torch first, pinned: pip takes the local CPU build; an unpinned torch pulls a CUDA build.
$(VENV)/.torch: | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.torch
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

index: $(VENV)/.installed
	$(BIN)/assistant index data/articles

run: index
	$(BIN)/assistant serve

test: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy assistant index
	$(BIN)/pytest
