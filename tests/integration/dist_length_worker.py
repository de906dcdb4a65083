"""Run under `torch.distributed.run --nproc_per_node 2`: score this rank's share of fixed batches."""

import json
import sys

import torch.distributed as dist

from rewards import build

BATCHES = [  # (question id, tokens, correct), a question's group split across ranks
    [("a", 100, True), ("a", 300, True), ("b", 50, True), ("b", 80, False), ("a", 200, True), ("a", 500, False), ("b", 70, True), ("b", 90, True)],
    [("a", 150, True), ("a", 400, True), ("b", 60, True), ("b", 40, True), ("a", 250, True), ("a", 90, True), ("b", 200, True), ("b", 65, False)],
]


def batch_kwargs(records):
    return dict(
        prompts=[qid for qid, _, _ in records],
        completions=[f"<answer>{4 if ok else 5}</answer>" for _, _, ok in records],
        completion_ids=[[0] * tokens for _, tokens, _ in records],
        answer=["4"] * len(records),
        id=[qid for qid, _, _ in records],
    )


def score_all(rank: int, world: int) -> dict:
    functions, _ = build({"correctness": {}, "length": {}, "kimi_length": {}})
    scores = []
    for batch in BATCHES:
        share = len(batch) // world
        local = batch[rank * share : (rank + 1) * share]
        scores.append([f(**batch_kwargs(local)) for f in functions[1:]])
    return {"scores": scores, "state": functions[1].state_dict()}


if __name__ == "__main__":
    dist.init_process_group("gloo")
    result = score_all(dist.get_rank(), dist.get_world_size())
    with open(f"{sys.argv[1]}.rank{dist.get_rank()}.json", "w") as handle:
        json.dump(result, handle)
    dist.destroy_process_group()
