"""Training: config -> dataset -> reward functions -> TRL `GRPOTrainer` / `RLOOTrainer` -> checkpoints.

A straight story on purpose: everything that can be configured is in `RunConfig`, and everything
TRL/accelerate/DeepSpeed already do (generation, advantages, distribution) is left to them.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import warnings
from pathlib import Path

import yaml

from rl.config import RunConfig, dump
from rl.config.algorithms import algorithm_spec
from rl.config.trainer_args import cuda_available, machine_defaults, resolved_fields, trainer_args
from rl.errors import ConfigError, UserError, first_line
from rl.train.callbacks import CheckpointState, ClippedRatioWarning, MetricsJsonl
from rl.train.checkpoints import (
    FINISHED_MARKER,
    checkpoint_step,
    checkpoints,
    complete_from_checkpoint,
    finished_step,
    latest_complete_checkpoint,
    mark_finished,
)
from rl.train.run_lock import HOLDERS_FILE, LOCK_FILE, RunLock, check_output_dir

RESOLVED_TRAINER_ARGS = "resolved_trainer_args.yaml"  # beside config.yaml: what this machine filled in

logger = logging.getLogger("rl.train")


def describe_distributed_setup(trainer) -> str:
    """One line: backend, world size, DeepSpeed ZeRO stage (logged at start, so a run says how it ran)."""
    state = trainer.accelerator.state
    backend = getattr(state, "backend", None) or "none"
    zero = "off"
    plugin = getattr(state, "deepspeed_plugin", None)
    if plugin is not None:
        zero = f"ZeRO-{plugin.zero_stage}"
    return (
        f"distributed: type={state.distributed_type.value} backend={backend} world_size={state.num_processes} "
        f"deepspeed={zero} device={trainer.accelerator.device}"
    )


def apply_log_level(level: str) -> None:
    """`logging.log_level` for this project's loggers and for transformers/TRL's own."""
    import transformers

    numeric = getattr(logging, level.upper())
    for name in ("rl", "rewards"):
        logging.getLogger(name).setLevel(numeric)
    transformers.logging.set_verbosity(numeric)



def trainer_class(name: str, dynamic_sampling: object | None = None) -> tuple[type, dict]:
    """(the trainer class of algorithm `name`, extra keyword arguments for it).

    With `dynamic_sampling` (the config section, GRPO only), TRL's `GRPOTrainer` is replaced by
    `rl.train.dynamic_sampling.DynamicSamplingGRPOTrainer`, which TRL does not have.
    """
    if dynamic_sampling is None:
        return algorithm_spec(name).trainer_class(), {}
    from rl.train.dynamic_sampling import DynamicSamplingGRPOTrainer

    return DynamicSamplingGRPOTrainer, {"dynamic_sampling": dynamic_sampling}


def resume_point(output_dir: Path, max_steps: int, resume: bool, overwrite: bool) -> Path | None:
    """The checkpoint to resume from (None: start at step 0); raises for a finished run or one in the way.

    Call it holding the run lock: it deletes (`overwrite`) or moves (half-written checkpoints) files,
    and completes a run killed between its last checkpoint and its final model.
    """
    if overwrite:
        for path in output_dir.iterdir() if output_dir.is_dir() else ():
            if path.name in (LOCK_FILE, HOLDERS_FILE):  # this run's own lock: it holds it
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        return None
    if not resume:
        if checkpoints(output_dir) or finished_step(output_dir) is not None:
            raise ConfigError(
                f"trainer.output_dir {output_dir} already holds a run; pass --resume to continue it or --overwrite to start again"
            )
        return None
    done_at = finished_step(output_dir)
    if done_at is not None and (max_steps < 0 or done_at >= max_steps):
        raise AlreadyFinished(f"{output_dir}: already finished at step {done_at}; nothing to resume")
    checkpoint = latest_complete_checkpoint(output_dir)
    if checkpoint is None:
        logger.info("--resume: no complete checkpoint in %s yet, starting from step 0", output_dir)
    elif max_steps > 0 and checkpoint_step(checkpoint) >= max_steps:
        try:
            step = complete_from_checkpoint(checkpoint, output_dir, max_steps)
        except FileNotFoundError as error:
            raise UserError(f"{error}; resume cannot finish this run (save with consolidated weights)") from None
        raise AlreadyFinished(
            f"{output_dir}: finished at step {step}: the run was stopped after {checkpoint.name} but before its final model; "
            f"wrote the final model, reward state and {FINISHED_MARKER} from {checkpoint.name}, trained nothing"
        )
    return checkpoint


def machine_record(config: RunConfig, fields: dict, world_size: int) -> str:
    """`resolved_trainer_args.yaml`: the TRL arguments this launch used and which of them this machine filled in.

    `config.yaml` beside it is the config as the user resolved it, so re-running it on another
    machine does what the user asked; this file only says what this one added.
    """
    record = {
        "machine": {"cuda": cuda_available(), "world_size": world_size, "filled_in": machine_defaults(config.trainer)},
        "trainer": {key: value for key, value in fields.items() if key != "model_init_kwargs"},
    }
    return yaml.safe_dump(record, sort_keys=False)


class AlreadyFinished(UserError):
    """`--resume` of a run that already reached its last step: nothing to do (exit 0, not an error)."""


def claim_output_dir(output_dir: Path, max_steps: int, resume: bool, overwrite: bool) -> tuple[RunLock | None, Path | None]:
    """Every rank: the run lock (held by the main process; None on the others) and the checkpoint to resume from.

    The main process takes the lock before it writes anything, then decides where to resume; the
    other ranks receive its decision, or its error, so every rank raises the same one.
    """
    from accelerate import PartialState
    from accelerate.utils import broadcast_object_list, gather_object

    state = PartialState()
    ranks = gather_object([{"rank": state.process_index, "host": socket.gethostname(), "pid": os.getpid()}])
    lock = problem = checkpoint = None
    if state.is_main_process:
        try:
            lock = RunLock(output_dir, sorted(ranks, key=lambda r: r["rank"])).acquire()
            checkpoint = resume_point(output_dir, max_steps, resume, overwrite)
        except UserError as error:  # sent to every rank, so none is left waiting at a barrier
            problem = error
    problem, checkpoint = broadcast_object_list([problem, checkpoint])
    if problem is not None:
        if lock is not None:
            lock.release()
        raise problem
    return lock, checkpoint


def train(config: RunConfig, resume: bool = False, overwrite: bool = False) -> Path:
    """Run one experiment; returns the output directory (model, checkpoints, metrics.jsonl).

    Everything a user can get wrong is checked before the model loads and before a file is written:
    the trainer arguments with this launch's world size (TRL's own validation), the output
    directory, the data, the reward stack. Then the main process takes the run lock
    (`rl.train.run_lock`), held until the run ends.
    """
    from rl.config.trainer_args import trainer_value
    from rl.data.model_sources import check_trainable
    from rl.data.models import model_init_kwargs, peft_config, resolve_model
    from rl.data.rows import check_source, load_rows
    from rl.eval.rollout import RolloutContext

    apply_log_level(config.logging.log_level)
    if resume and overwrite:
        raise ConfigError("--resume and --overwrite contradict each other: pick one")
    output_dir = config.output_dir
    max_steps = int(trainer_value(config.algorithm, config.trainer, "max_steps"))
    check_output_dir(output_dir)
    fields = dict(config.trainer)
    fields["model_init_kwargs"] = {**model_init_kwargs(config.model), **fields.get("model_init_kwargs", {})}
    try:
        # The one TRL config of this run; the weights are those of the rewards parsed at config load.
        args = trainer_args(config.algorithm, fields, config.reward_weights)
    except (ValueError, TypeError, ZeroDivisionError) as error:
        raise ConfigError(f"trainer: {first_line(error)}") from None
    check_source(config.data)
    model_path = resolve_model(config.model)  # a path or hub id; `tiny:` models are built into their cache
    check_trainable(model_path, lora=config.model.lora is not None)
    # The rewards read how this model generates (its chat template may open <think>, its EOS ends a finished
    # completion): the rollout context decides the checking options once, for the rewards and for eval during training.
    context = RolloutContext.build(config, model_path=model_path, backend="hf")
    reward_funcs = context.reward_functions()

    lock, checkpoint = claim_output_dir(output_dir, max_steps, resume, overwrite)
    try:
        dataset = load_rows(config.data, config.prompt, tokenizer_path=model_path, max_completion_length=context.max_completion_length)

        resume_step = checkpoint_step(checkpoint) if checkpoint is not None else None
        if checkpoint is not None:
            logger.info("resuming from %s (step %d)", checkpoint, resume_step)
        checkpoint_state = CheckpointState(reward_funcs, resume_from=checkpoint)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning)
            trainer_type, trainer_options = trainer_class(config.algorithm, config.dynamic_sampling)
            trainer = trainer_type(
                model=model_path,
                reward_funcs=reward_funcs,
                args=args,
                train_dataset=dataset,
                peft_config=peft_config(config.model),
                callbacks=[
                    MetricsJsonl(output_dir / config.logging.metrics_file, resume_step=resume_step), checkpoint_state, ClippedRatioWarning(),
                ],
                **trainer_options,
            )
        if config.eval_during_training is not None:
            from rl.eval.during_training import eval_callback

            trainer.add_callback(eval_callback(config, trainer, context))  # after MetricsJsonl, which opens the file
        logger.info(describe_distributed_setup(trainer))
        if trainer.accelerator.is_main_process:
            output_dir.mkdir(parents=True, exist_ok=True)
            (output_dir / "config.yaml").write_text(dump(config))
            (output_dir / RESOLVED_TRAINER_ARGS).write_text(machine_record(config, resolved_fields(fields), args.world_size))
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        # The finishing order rl.train.checkpoints relies on: final model, reward state, finished.json last.
        trainer.save_model(str(output_dir))
        if trainer.accelerator.is_main_process:
            checkpoint_state.save_final(output_dir)
            mark_finished(output_dir, trainer.state.global_step, max_steps)
        return output_dir
    finally:
        if lock is not None:
            lock.release()
