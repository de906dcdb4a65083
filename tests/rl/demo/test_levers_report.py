"""The levers suite's pieces that need no training: reward stacks differ only in the lever, seeds combine."""

import json

from rl.demo.levers import REFERENCE, combine_seeds, lever_rewards
from rl.eval.plot import pareto_front


def test_each_lever_adds_one_length_reward_to_r1_zero():
    base = {"correctness": {"weight": 1.0}, "format": {"weight": 0.2}}
    stacks = lever_rewards(base, 128, {"weight": 0.7})
    assert stacks[REFERENCE] == base
    for name, stack in stacks.items():
        extra = set(stack) - set(base)
        assert extra == (set() if name == REFERENCE else {name})
    assert "correctness" not in stacks["cosine_length"] and stacks["cosine_length"]["cosine_length"] == {"weight": 1.0}
    assert stacks["overlong"]["overlong"]["soft_punish_cache"] == 96  # the soft zone starts at a quarter of the 128-token budget


def test_the_pareto_front_keeps_only_undominated_methods():
    assert pareto_front([(78, 0.86), (34, 0.855), (33, 0.879), (31, 0.855), (69, 0.74)]) == [(31, 0.855), (33, 0.879)]


def test_seeds_combine_into_means_ranges_and_charts(tmp_path):
    def report(shift: float) -> dict:
        methods = {name: {"accuracy": acc + shift, "mean_tokens": tokens, "maj_curve": [[tokens, acc], [2 * tokens, acc + 0.05]]}
                   for name, acc, tokens in (("r1_zero", 0.8, 70.0), ("length", 0.82, 30.0))}  # fmt: skip
        return {"held_out_questions": 256, "methods": methods}

    summary = combine_seeds({0: report(0.0), 1: report(0.04)}, tmp_path)
    assert summary["length"]["accuracy"] == [0.82, 0.86]
    assert json.loads((tmp_path / "seeds.json").read_text())["seeds"] == [0, 1]
    assert "| length | 0.840 (0.820-0.860) |" in (tmp_path / "seeds.md").read_text()
    for picture in ("pareto_seeds.png", "test_time_seeds.png"):
        assert (tmp_path / picture).stat().st_size > 10_000
