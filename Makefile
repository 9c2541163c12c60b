# `make run`: the chat UI on the bundled sample articles. `make test`: ruff, mypy and pytest.
# Both install the exact versions of requirements.lock / requirements-dev.lock (made by
# `make lock`); `make test-latest` runs the suite on the newest releases in a scratch venv.
VENV   := .venv
BIN    := $(VENV)/bin
PYTHON ?= python3

# Where pip and uv find the CPU build of torch (this machine's wheel folder; elsewhere, e.g.
# TORCH_WHEELS=https://download.pytorch.org/whl/cpu/torch).
TORCH_WHEELS ?= /opt/wheels
# The tests also run local models: llama-cpp-python builds from source, portably (a build for
# the native CPU crashed at the first token on a CPU with AMX).
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON

.PHONY: run test index lock test-latest checks

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# torch first, pinned: pip takes the local CPU build; an unpinned torch pulls a CUDA build.
$(VENV)/.torch: requirements-torch.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-torch.txt --find-links $(TORCH_WHEELS)
	touch $@

$(VENV)/.installed: requirements.lock $(VENV)/.torch
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

$(VENV)/.dev: requirements-dev.lock $(VENV)/.installed
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install -q -r requirements-dev.lock
	touch $@

index: $(VENV)/.installed
	$(BIN)/assistant index data/articles

run: index
	$(BIN)/assistant serve

test: $(VENV)/.dev
	$(MAKE) checks BIN=$(BIN)

checks:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy assistant index
	$(BIN)/pytest

# The locks: every dependency's exact version for Python 3.11 on Linux, torch's CPU build kept.
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --python-version 3.11 --find-links $(TORCH_WHEELS) -q
lock: | $(BIN)/python
	$(BIN)/pip install -q uv
	$(UV_COMPILE) --upgrade -c requirements-torch.txt -o requirements.lock
	$(UV_COMPILE) --upgrade --extra dev --extra local --extra bench -c requirements.lock \
		-o requirements-dev.lock

# The suite on the newest releases pyproject's ranges admit (torch kept on its CPU build).
LATEST := .venv-latest
test-latest:
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install -q --upgrade pip
	$(LATEST)/bin/pip install -q -r requirements-torch.txt --find-links $(TORCH_WHEELS)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(LATEST)/bin/pip install -q --upgrade -e '.[dev,local,bench]'
	$(LATEST)/bin/pip list --format=freeze > $(LATEST)/versions.txt
	$(MAKE) checks BIN=$(LATEST)/bin
