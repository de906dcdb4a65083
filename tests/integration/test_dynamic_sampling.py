"""Dynamic sampling with the real GRPOTrainer at tiny scale: TRL's update when nothing is filtered, filtering and
refilling when groups are uniform, masked filling when rounds run out, and a 2-process run whose groups span ranks."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from dynamic_sampling_worker import UNIFORM_PROMPTS, G, correctness, make_trainer, recording, spread  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def logged_steps(trainer) -> list[dict]:
    return [row for row in trainer.state.log_history if "dynamic_sampling/rounds" in row]


def test_without_uniform_groups_the_update_is_exactly_trls(tmp_path):
    from trl import GRPOTrainer

    from rl.config.schema import DynamicSamplingSettings
    from rl.train.dynamic_sampling import DynamicSamplingGRPOTrainer

    plain = make_trainer(GRPOTrainer, tmp_path / "plain", spread)
    initial = {name: value.clone() for name, value in plain.model.state_dict().items()}
    plain.train()
    dynamic = make_trainer(
        DynamicSamplingGRPOTrainer,
        tmp_path / "dynamic",
        spread,
        dynamic_sampling=DynamicSamplingSettings(metric="reward"),
    )
    dynamic.train()
    for (name, expected), value in zip(plain.model.state_dict().items(), dynamic.model.state_dict().values()):
        assert torch.equal(expected, value), name
    assert any(
        not torch.equal(initial[name], value) for name, value in plain.model.state_dict().items()
    )  # it did train
    assert [(row["dynamic_sampling/rounds"], row["dynamic_sampling/kept_groups"], row["dynamic_sampling/padded_groups"])
            for row in logged_steps(dynamic)] == [(1.0, 2.0, 0.0)] * 2  # fmt: skip


def test_uniform_groups_are_filtered_and_the_batch_refilled(tmp_path):
    from rl.config.schema import DynamicSamplingSettings
    from rl.train.dynamic_sampling import DynamicSamplingGRPOTrainer

    run = make_trainer(recording(DynamicSamplingGRPOTrainer), tmp_path, correctness,
                       dynamic_sampling=DynamicSamplingSettings(metric="correctness", max_rounds=20))  # fmt: skip
    run.train()
    assert len(run.batches) == 2
    for batch in run.batches:
        prompts = [p.strip() for p in run.processing_class.batch_decode(batch["prompt_ids"], skip_special_tokens=True)]
        assert len(prompts) == 2 * G and not UNIFORM_PROMPTS & set(prompts)  # only informative groups, the batch full
        for group in range(2):  # whole groups with rewards 1, 0, 1, 0: advantages +-0.866 (std-scaled)
            assert prompts[group * G : (group + 1) * G] == [prompts[group * G]] * G
            assert torch.allclose(
                batch["advantages"][group * G : (group + 1) * G].abs(), torch.full((G,), 0.866), atol=1e-3
            )
        assert int(batch["num_items_in_batch"]) == int(batch["completion_mask"].sum())
    for row in logged_steps(run):
        assert row["dynamic_sampling/kept_groups"] == 2 and row["dynamic_sampling/padded_groups"] == 0
        assert row["dynamic_sampling/generated_groups"] == 2 * row["dynamic_sampling/rounds"]
        assert row["groups/uniform_correct_frac"] == 0 and row["groups/generated_uniform_correct_frac"] > 0
    assert max(row["dynamic_sampling/rounds"] for row in logged_steps(run)) > 1


def test_when_rounds_run_out_filtered_groups_fill_the_batch_masked(tmp_path):
    from rl.config.schema import DynamicSamplingSettings
    from rl.train.dynamic_sampling import DynamicSamplingGRPOTrainer

    def constant(prompts, completions, **kwargs):
        return [1.0] * len(completions)

    run = make_trainer(
        recording(DynamicSamplingGRPOTrainer),
        tmp_path,
        constant,
        dynamic_sampling=DynamicSamplingSettings(metric="reward", max_rounds=2),
    )
    run.train()
    assert [(row["dynamic_sampling/rounds"], row["dynamic_sampling/kept_groups"], row["dynamic_sampling/padded_groups"])
            for row in logged_steps(run)] == [(2.0, 0.0, 2.0)] * 2  # fmt: skip
    for batch in run.batches:  # nothing enters the loss
        assert (
            int(batch["completion_mask"].sum()) == 0
            and int(batch["num_items_in_batch"]) == 0
            and not batch["advantages"].any()
        )


def test_two_processes_groups_spanning_ranks(tmp_path):
    # 2 ranks x 6 completions = 3 groups of 4 per step: the middle group is split between the ranks.
    out = tmp_path / "result"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29541",
         str(Path(__file__).parent / "dynamic_sampling_worker.py"), str(out)],
        env=env, cwd=ROOT, timeout=300, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-5000:]
    ranks = [json.loads(Path(f"{out}.rank{rank}.json").read_text()) for rank in (0, 1)]
    assert ranks[0]["checksum"] == ranks[1]["checksum"]  # one model: the ranks' gradients were averaged
    counts = [
        [{k: v for k, v in row.items() if k.startswith(("dynamic_sampling/", "groups/"))} for row in r["logged"]]
        for r in ranks
    ]
    assert counts[0] == counts[1] and len(counts[0]) == 2  # every rank made the same decisions
    for step in range(2):
        local = [ranks[rank]["batches"][step] for rank in (0, 1)]
        prompts = local[0]["prompts"] + local[1]["prompts"]  # TRL's global order: rank 0's rows, then rank 1's
        assert len(local[0]["prompts"]) == len(local[1]["prompts"]) == 6
        assert not UNIFORM_PROMPTS & set(prompts)
        assert all(
            prompts[g * G : (g + 1) * G] == [prompts[g * G]] * G for g in range(3)
        )  # whole groups, one spanning the ranks
        advantages = local[0]["advantages"] + local[1]["advantages"]
        assert all(abs(abs(a) - 0.866) < 1e-3 for a in advantages)
        assert (
            local[0]["num_items_in_batch"]
            == local[1]["num_items_in_batch"]
            == local[0]["local_tokens"] + local[1]["local_tokens"]
        )
    for row in ranks[0]["logged"]:
        assert row["dynamic_sampling/kept_groups"] == 3 and row["groups/uniform_correct_frac"] == 0
