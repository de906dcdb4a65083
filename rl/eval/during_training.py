"""Held-out evaluation during training: every N steps, grade the model being trained on held-out questions.

Generation and grading are `rl eval`'s (the run's `rl.eval.rollout.RolloutContext`), so `eval/accuracy` at a step means
what `rl eval` would report for that step's checkpoint; the record goes to `metrics.jsonl` and `report_to`.
"""

from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path

from transformers import TrainerCallback

from rl.config import EvalDuringTrainingSettings, RunConfig
from rl.eval.generation import EvalSettings, Generations
from rl.eval.rollout import RolloutContext
from rl.eval.summary import sample_rates

logger = logging.getLogger("rl.eval_during_training")

METRIC_PREFIX = "eval/"  # eval/accuracy, eval/mean_tokens, ...: the names `rl plot` and the suites read


class EvalDuringTraining(TrainerCallback):
    """Grades `rows` with the trainer's model at step 0 (`at_start`) and after every `every_steps`-th optimizer step.

    Logs `eval/accuracy`, `eval/mean_tokens`, `eval/mean_tokens_correct`, `eval/mean_tokens_incorrect`
    (tokens, EOS included), `eval/format_rate`, `eval/unfinished_rate`, `eval/truncated_correct_rate`,
    `eval/language_consistency` (the keys of `rl.eval.summary.sample_rates`; a key with no sample to average,
    e.g. no correct answer, is left out), plus `eval/questions` and `eval/seconds` (wall time of the
    evaluation), as one record at that global step, through `transformers.Trainer.log`: `metrics.jsonl`
    (`rl.train.callbacks.MetricsJsonl`) and every `report_to` backend receive it.

    Add it with `trainer.add_callback` after the trainer is built (it needs the trainer's
    accelerator and model), so it runs after `MetricsJsonl` has opened the file for the step-0 record.

    Several processes: each generates and grades a strided share of the questions and the graded
    samples are gathered to every rank, so each rank logs the same numbers (the main process writes
    them). Generation uses TRL's `unwrap_model_for_generation`: DDP unwrapped, ZeRO-3 parameters
    gathered (unless `trainer.ds3_gather_for_generation` is false), gradient checkpointing off for the
    generation and back on after; the model is put in eval mode (no dropout) and its mode restored.
    Torch's random state is forked around the evaluation, so turning evaluation on does not change the
    rollouts or the update of any step (also with sampled evaluation).

    Args:
        trainer: the TRL trainer (`GRPOTrainer`, `RLOOTrainer`) whose model is evaluated.
        rows: held-out rows of `rl.data.rows.load_rows` (`prompt`, `answer`, `id`, `question`).
        settings: the config's `eval_during_training` section.
        context: the run's rollout context at the evaluation's budget (`eval_during_training.max_new_tokens`,
            else the training one): chat-template kwargs and KV cache as for training generation, the
            run's rewards and answer checking for grading.
    """

    def __init__(self, trainer, rows: list[dict], settings: EvalDuringTrainingSettings, context: RolloutContext) -> None:
        self.trainer = trainer
        self.rows = rows
        self.settings = settings
        self.decoding = EvalSettings(
            samples=settings.samples, greedy=settings.greedy, temperature=settings.temperature, batch_size=settings.batch_size
        )
        self.context = context
        self.last_step: int | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        if self.settings.at_start and state.global_step == 0:  # a resumed run logged its earlier points already
            self.evaluate(state.global_step)

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step % self.settings.every_steps == 0:
            should_log = control.should_log
            self.evaluate(state.global_step)
            control.should_log = should_log  # a log call clears it; the step's own training record must still be written

    def evaluate(self, step: int) -> dict[str, float]:
        """Generate, grade and log at `step`; returns the logged record (the same on every rank)."""
        if step == self.last_step:
            return {}
        self.last_step = step
        started = time.perf_counter()
        samples = [sample for graded in self.grade_all() for sample in graded]
        record = {METRIC_PREFIX + key: value for key, value in sample_rates(samples).items() if value is not None}
        record[METRIC_PREFIX + "questions"] = len(self.rows)
        record[METRIC_PREFIX + "seconds"] = round(time.perf_counter() - started, 3)
        logger.info(
            "eval during training, step %d: accuracy %.3f, mean tokens %.1f on %d held-out questions (%.1f s)",
            step, record.get("eval/accuracy", 0.0), record.get("eval/mean_tokens", 0.0), len(self.rows), record["eval/seconds"],
        )  # fmt: skip
        from transformers import Trainer

        # Trainer.log, not the trainer's own: TRL's GRPOTrainer.log folds in (and clears) the training
        # batch metrics collected so far, which belong to the step's regular log record.
        Trainer.log(self.trainer, dict(record))
        return record

    def grade_all(self) -> list[list[dict]]:
        """Every held-out question's graded samples, in row order; each process grades a strided share."""
        from accelerate.utils import gather_object

        accelerator = self.trainer.accelerator
        rank, world = accelerator.process_index, accelerator.num_processes
        share = list(range(rank, len(self.rows), world))
        # Equal shares keep the ranks' generate calls in step (ZeRO-3 without gathered parameters needs it);
        # a repeated index is graded twice and kept once.
        share += share[-1:] * (-(-len(self.rows) // world) - len(share))
        rows = [self.rows[index] for index in share]
        graded = self.context.grade(rows, self.generate(rows)) if rows else []
        by_index = dict(gather_object(list(zip(share, graded))))
        return [by_index[index] for index in range(len(self.rows))]

    def generate(self, rows: list[dict]) -> Generations:
        import torch
        from trl.models import unwrap_model_for_generation

        trainer, args = self.trainer, self.trainer.args
        model = trainer.accelerator.unwrap_model(trainer.model_wrapped)
        was_training = model.training
        devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
        with (
            torch.random.fork_rng(devices=devices),
            unwrap_model_for_generation(
                trainer.model_wrapped, trainer.accelerator,
                gather_deepspeed3_params=getattr(args, "ds3_gather_for_generation", True),
                gradient_checkpointing_kwargs=args.gradient_checkpointing_kwargs,
            ) as unwrapped,
        ):  # fmt: skip
            unwrapped.eval()
            try:
                return self.context.generate([row["prompt"] for row in rows], self.decoding, model=unwrapped,
                                             tokenizer=trainer.processing_class, progress=False)  # fmt: skip
            finally:
                unwrapped.train(was_training)


def eval_callback(config: RunConfig, trainer, context: RolloutContext) -> EvalDuringTraining:
    """The callback of `config.eval_during_training` (which must be set) for `trainer`, questions loaded.

    `context` is the run's rollout context (`rl train` builds it once); the evaluation uses it at its
    own budget when `eval_during_training.max_new_tokens` is set. The questions are `rl eval`'s: the
    data's held-out split (`rl.eval.generation.eval_split`: `test` of a generated task, else
    `data.eval_split`), its first `limit` rows. Warns when that split is the training split itself (a
    hub dataset without `data.eval_split`, or a local file): the curve then measures training
    questions, not held-out ones.
    """
    from rl.data.rows import load_rows
    from rl.eval.generation import eval_split

    settings = config.eval_during_training
    split = eval_split(config)
    generated = config.data.source.startswith("generated:")
    if not generated and (split == config.data.split or Path(config.data.source).is_file()):  # a local file has one split
        warnings.warn(
            f"eval_during_training: data.eval_split is {config.data.eval_split!r}, so the evaluated questions are the training "
            f"ones ({config.data.source}, split {split!r}); set data.eval_split to a held-out split",
            stacklevel=2,
        )
    data = config.data.model_copy(update={"limit": settings.limit})
    rows = list(load_rows(data, config.prompt, split=split))
    return EvalDuringTraining(trainer, rows, settings, context.with_budget(settings.max_new_tokens))
