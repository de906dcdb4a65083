"""`rl prm train`: a process or outcome verifier trained from step labels with transformers' `Trainer`.

The model is the policy's causal LM with a one-logit token-classification head; the loss is binary
cross-entropy on `sigmoid(logit)` at each step's last token (`rl.testtime.verifiers.encode_steps`). A process
verifier learns every step's m/n label (soft targets, or m/n > threshold as hard ones; Math-Shepherd,
arXiv:2312.08935), an outcome verifier only the final correctness, at the last step (Cobbe et al.
2021, arXiv:2110.14168). TRL no longer ships a PRM trainer, so this is the plain `Trainer`.
"""

from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path

from rl.config import PrmTrainSettings, RunConfig
from rl.errors import UserError
from rl.testtime.verifiers import VerifierInfo, encode_steps, write_verifier_info

logger = logging.getLogger("rl.prm_train")
IGNORE = -100.0  # target of a token that is not a step's last one (no loss)


def step_targets(row: dict, kind: str, targets: str, threshold: float) -> list[float]:
    """The training target of each step of a labelled solution; IGNORE where there is none.

    Process: every step's label (m/n, or 1.0/0.0 by `m/n > threshold` for hard targets).
    Outcome: only the last step's, the solution's correctness; the others IGNORE.

    >>> step_targets({"labels": [0.75, 0.25, 1.0]}, "process", "hard", 0.5)
    [1.0, 0.0, 1.0]
    >>> step_targets({"labels": [0.75, 0.25, 0.0]}, "outcome", "soft", 0.5)
    [-100.0, -100.0, 0.0]
    """
    labels = [float(value) for value in row["labels"]]
    if targets == "hard":
        labels = [1.0 if value > threshold else 0.0 for value in labels]
    if kind == "outcome":
        return [IGNORE] * (len(labels) - 1) + [labels[-1]]
    return labels


def encode_rows(tokenizer, rows: list[dict], settings: PrmTrainSettings) -> list[dict]:
    """`input_ids` and per-token `labels` (the step targets at step ends, IGNORE elsewhere) of each row."""
    examples = []
    for row in rows:
        ids, positions = encode_steps(tokenizer, row["prompt"], row["completions"], settings.max_length)
        per_step = step_targets(row, settings.kind, settings.targets, settings.hard_threshold)
        token_labels = [IGNORE] * len(ids)
        for position, target in zip(positions, per_step):
            token_labels[position] = target
        if any(value != IGNORE for value in token_labels):
            examples.append({"input_ids": ids, "labels": token_labels})
    return examples


class PadCollator:
    """Right-pads a batch: ids with the pad id, labels with IGNORE, an attention mask of the real tokens."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, features: list[dict]) -> dict:
        import torch

        width = max(len(feature["input_ids"]) for feature in features)
        return {
            "input_ids": torch.tensor([f["input_ids"] + [self.pad_id] * (width - len(f["input_ids"])) for f in features]),
            "attention_mask": torch.tensor([[1] * len(f["input_ids"]) + [0] * (width - len(f["input_ids"])) for f in features]),
            "labels": torch.tensor([f["labels"] + [IGNORE] * (width - len(f["labels"])) for f in features]),
        }


def step_bce_loss(outputs, labels, num_items_in_batch=None):
    """Mean binary cross-entropy of `sigmoid(logit)` against the targets at the scored tokens (Trainer's `compute_loss_func`)."""
    import torch.nn.functional as F

    logits = outputs.logits[..., 0]
    scored = labels != IGNORE
    return F.binary_cross_entropy_with_logits(logits[scored].float(), labels[scored].float())


def verifier_dir(config: RunConfig, kind: str) -> Path:
    return Path(config.prm.train.output_dir or f"{config.output_dir}-{kind}-verifier")


def train_verifier(config: RunConfig, labels: str | Path, model: str | None = None, out_dir: Path | None = None) -> dict:
    """Train the configured verifier on a step-label file; returns a summary (also in `<out>/train_summary.json`).

    `model`: the model the verifier starts from (default: `model.name_or_path`, the policy). The
    finished verifier is `out_dir` itself (weights, tokenizer, `verifier.json` last); checkpoints
    `checkpoint-N` in it are resumed from when a run is restarted.

    Raises:
        UserError: a bad label file, or labels that give the chosen kind nothing to learn.
    """
    import json

    from transformers import AutoModelForTokenClassification, AutoTokenizer, Trainer, TrainingArguments

    from rl.data.models import resolve_model
    from rl.testtime.prm_labels import read_labels
    from rl.testtime.verifiers import VERIFIER_FILE
    from rl.train.callbacks import CheckpointState
    from rl.train.checkpoints import latest_complete_checkpoint

    started = time.perf_counter()
    settings = config.prm.train
    out = Path(out_dir) if out_dir else verifier_dir(config, settings.kind)
    if (out / VERIFIER_FILE).is_file():
        logger.info("verifier already trained in %s", out)
        return json.loads((out / "train_summary.json").read_text())
    rows = read_labels(labels)
    separators = {row.get("step_separator", config.prm.step_separator) for row in rows}
    base = model or config.model.name_or_path
    model_path = resolve_model(config.model.model_copy(update={"name_or_path": base}))
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    examples = encode_rows(tokenizer, rows, settings)
    if not examples:
        raise UserError(f"--labels {labels}: no step of any solution fits in prm.train.max_length={settings.max_length} tokens")
    targets = [value for example in examples for value in example["labels"] if value != IGNORE]
    if len({value > settings.hard_threshold for value in targets}) < 2:
        raise UserError(f"--labels {labels}: every {settings.kind} target is on one side of {settings.hard_threshold}: nothing to tell apart")
    from datasets import Dataset

    args = TrainingArguments(
        output_dir=str(out), max_steps=settings.max_steps, per_device_train_batch_size=settings.batch_size,
        learning_rate=settings.learning_rate, lr_scheduler_type="cosine", warmup_steps=max(1, settings.max_steps // 20),
        weight_decay=0.01, logging_steps=max(1, settings.max_steps // 20), save_steps=max(1, settings.max_steps // 4),
        save_total_limit=1, report_to="none", seed=settings.seed, disable_tqdm=False, remove_unused_columns=False, dataloader_pin_memory=False,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "newly initialized: score.weight" is the point: the head is new
        network = AutoModelForTokenClassification.from_pretrained(model_path, num_labels=1)
    network.config.pad_token_id = tokenizer.pad_token_id
    trainer = Trainer(
        model=network, args=args, train_dataset=Dataset.from_list(examples), data_collator=PadCollator(tokenizer.pad_token_id),
        compute_loss_func=step_bce_loss, callbacks=[CheckpointState([])],
    )  # fmt: skip
    checkpoint = latest_complete_checkpoint(out)
    result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    trainer.save_model(str(out))
    tokenizer.save_pretrained(str(out))
    summary = {
        "kind": settings.kind, "targets": settings.targets, "base_model": base, "labels_file": str(labels),
        "solutions": len(rows), "examples": len(examples), "scored_tokens": len(targets), "max_steps": settings.max_steps,
        "train_loss": round(float(result.training_loss), 4), "wall_seconds": round(time.perf_counter() - started, 2),
    }  # fmt: skip
    (out / "train_summary.json").write_text(json.dumps(summary, indent=2))
    separator = separators.pop() if len(separators) == 1 else config.prm.step_separator
    write_verifier_info(out, VerifierInfo(settings.kind, separator, settings.targets, base, str(labels)))
    logger.info("%s verifier: loss %.4f after %d steps -> %s", settings.kind, summary["train_loss"], settings.max_steps, out)
    return summary
