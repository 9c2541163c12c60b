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

# The tests also run local models: llama-cpp-python builds from source, portably (a build for
# the native CPU crashed at the first token on a CPU with AMX).
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON

$(VENV)/.local: pyproject.toml $(VENV)/.installed
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install -q -e '.[dev,local]'
	touch $@

index: $(VENV)/.installed
	$(BIN)/assistant index data/articles

run: index
	$(BIN)/assistant serve

test: $(VENV)/.local
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy assistant index
	$(BIN)/pytest
