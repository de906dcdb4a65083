"""Keep freed memory in the process (glibc): a real model's step then stops re-faulting gigabytes of fresh pages.

With glibc's defaults every allocation above the mmap threshold (a 135M model's logits, 16 x 128 x
49,152 floats = 400 MB, and its activations) is mapped and unmapped again each step, so each step
touches 1-2 GB of new pages; in a VM a page fault is expensive. Measured on 2 cores, SmolLM2-135M, fp32
(`benchmarks/real_step_profile.md`): 46.4 s vs 51.4 s a step on the real-model suite's workload (~800
completion tokens), 28.6 s vs 61.8 s without activation checkpointing on one with ~1,800. Numbers
computed are unchanged (token-identical completions): only where memory comes from.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)
# glibc's mallopt parameters (malloc.h): the same knobs as MALLOC_MMAP_MAX_, MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_.
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_MAX = -1, -2, -4
TRIM_THRESHOLD_BYTES = 64 << 30  # never give freed heap back to the OS
TOP_PAD_BYTES = 1 << 30  # grow the heap a gigabyte at a time


def keep_freed_memory() -> bool:
    """Serve large blocks from the heap and never trim it (glibc `mallopt`); True if applied, False elsewhere (musl, macOS).

    The resident memory then stays at the process's peak instead of falling between steps; call it
    in processes that train or generate with a real model, not in short-lived tools.
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = getattr(libc, "mallopt", None)
    except OSError:
        mallopt = None
    if mallopt is None:
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    applied = all(mallopt(param, value) == 1 for param, value in (
        (M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, min(TRIM_THRESHOLD_BYTES, 2**31 - 1)), (M_TOP_PAD, TOP_PAD_BYTES),
    ))  # fmt: skip
    logger.debug("malloc: keep freed memory (mmap off, no trim): %s", "applied" if applied else "refused")
    return applied
