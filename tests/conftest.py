"""Shared test helpers: tests never touch the network."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# One torch thread per process (this one and the trainers the tests start): the tiny models gain little
# from a second thread, and two threads slow several-fold when the answer-checking workers share the cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")
