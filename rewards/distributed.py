"""Gather per-completion records from every rank, so stateful rewards see whole groups.

TRL splits a question's G completions across processes; a per-question statistic computed from a
local slice would differ between ranks. Uses torch.distributed when a process group is up
(accelerate/DeepSpeed set one up), and is the identity otherwise.
"""

from __future__ import annotations

from typing import Any


def world_size() -> int:
    try:
        import torch.distributed as dist
    except ImportError:
        return 1
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def gather_records(records: list[Any]) -> list[Any]:
    """All ranks' `records`, concatenated in rank order (identical on every rank)."""
    if world_size() == 1:
        return list(records)
    import torch.distributed as dist

    gathered: list[list[Any] | None] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, list(records))
    return [record for rank_records in gathered for record in rank_records or []]
