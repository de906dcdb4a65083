"""Dynamic sampling's test trainer; run under `torch.distributed.run --nproc_per_node 2` it trains 2 steps and writes
each rank's batches (prompts, advantages) and final weights' checksum to `<argv[1]>.rank<N>.json`."""

import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "rl" / "demo" / "base"  # the demo's shipped warm start (1.1M parameters): fast, and a real tokenizer
G = 4
PROMPTS = [f"Compute {i} + 1 . <think>" for i in range(8)]
UNIFORM_PROMPTS = set(PROMPTS[:6])  # 6 of the 8 prompts score alike in every sample


def spread(prompts, completions, **kwargs):
    """Differs within every group: the completion's place in its group."""
    return [float(i % G) for i in range(len(completions))]


def correctness(prompts, completions, **kwargs):
    """1 for every sample of a uniform prompt; the others alternate 1, 0 (also when a group is split between ranks)."""
    return [1.0 if prompt in UNIFORM_PROMPTS else float(i % 2) for i, prompt in enumerate(prompts)]


def make_trainer(cls, output_dir: Path, reward, per_device_train_batch_size: int = 8, **extra):
    from datasets import Dataset
    from trl import GRPOConfig

    args = GRPOConfig(
        output_dir=str(output_dir), per_device_train_batch_size=per_device_train_batch_size, num_generations=G,
        max_completion_length=8, max_steps=2, learning_rate=1e-3, logging_steps=1, save_strategy="no", report_to="none",
        seed=0, bf16=False, use_cpu=True,
    )  # fmt: skip
    return cls(
        model=str(BASE),
        reward_funcs=[reward],
        args=args,
        train_dataset=Dataset.from_list([{"prompt": p} for p in PROMPTS]),
        **extra,
    )


def recording(cls):
    """`cls` that keeps every batch `_generate_and_score_completions` returns, in `.batches`."""

    class Recording(cls):
        batches: list = []

        def _generate_and_score_completions(self, inputs):
            batch = super()._generate_and_score_completions(inputs)
            type(self).batches.append(batch)
            return batch

    return Recording


if __name__ == "__main__":
    from rl.config.schema import DynamicSamplingSettings
    from rl.train.dynamic_sampling import DynamicSamplingGRPOTrainer

    out = sys.argv[1]
    trainer = make_trainer(recording(DynamicSamplingGRPOTrainer), Path(out).parent / "run", correctness, per_device_train_batch_size=6,
                           dynamic_sampling=DynamicSamplingSettings(metric="correctness", max_rounds=20))  # fmt: skip
    trainer.train()
    rank = trainer.accelerator.process_index
    batches = [{"prompts": [p.strip() for p in trainer.processing_class.batch_decode(b["prompt_ids"], skip_special_tokens=True)],
                "advantages": b["advantages"].tolist(), "num_items_in_batch": int(b["num_items_in_batch"]),
                "local_tokens": int(b["completion_mask"].sum())} for b in type(trainer).batches]  # fmt: skip
    checksum = sum(float(value.double().sum()) for value in trainer.model.state_dict().values())
    logged = [row for row in trainer.state.log_history if "dynamic_sampling/rounds" in row]
    Path(f"{out}.rank{rank}.json").write_text(json.dumps({"batches": batches, "checksum": checksum, "logged": logged}))
    _ = torch  # the weights above are torch tensors
