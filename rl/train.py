"""Training: config -> dataset -> reward functions -> TRL `GRPOTrainer` / `RLOOTrainer` -> checkpoints.

A straight story on purpose: everything that can be configured is in `RunConfig`, and everything
TRL/accelerate/DeepSpeed already do (generation, advantages, distribution) is left to them.
"""

from __future__ import annotations

import logging
import shutil
import warnings
from pathlib import Path

from rl.callbacks import MetricsJsonl, RewardState, load_reward_state, save_reward_state
from rl.config import RunConfig, dump, trainer_args
from rl.errors import ConfigError

logger = logging.getLogger("rl.train")


def last_checkpoint(output_dir: Path) -> Path | None:
    from transformers.trainer_utils import get_last_checkpoint

    if not output_dir.is_dir():
        return None
    found = get_last_checkpoint(str(output_dir))
    return Path(found) if found else None


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


def train(config: RunConfig, resume: bool = False, overwrite: bool = False) -> Path:
    """Run one experiment; returns the output directory (model, checkpoints, metrics.jsonl)."""
    from trl import GRPOTrainer, RLOOTrainer

    import rewards
    from rl.data import load_rows
    from rl.models import model_init_kwargs, peft_config, resolve_model

    output_dir = config.output_dir
    checkpoint = last_checkpoint(output_dir)
    if checkpoint is not None and not resume:
        if not overwrite:
            raise ConfigError(
                f"trainer.output_dir {output_dir} already has {checkpoint.name}; "
                "pass --resume to continue it or --overwrite to start again"
            )
        shutil.rmtree(output_dir)
        checkpoint = None
    if resume and checkpoint is None:
        logger.info("--resume: no checkpoint in %s yet, starting from step 0", output_dir)

    model_path = resolve_model(config.model)
    dataset = load_rows(config.data, config.prompt)
    reward_funcs, reward_weights = rewards.build(config.rewards)
    fields = dict(config.trainer)
    fields["model_init_kwargs"] = {**model_init_kwargs(config.model), **fields.get("model_init_kwargs", {})}
    args = trainer_args(config.algorithm, fields, reward_weights)
    trainer_class = GRPOTrainer if config.algorithm == "grpo" else RLOOTrainer

    resume_step = None
    if checkpoint is not None:
        restored = load_reward_state(reward_funcs, checkpoint)
        resume_step = int(checkpoint.name.split("-")[-1])
        logger.info("resuming from %s (step %d); reward state restored: %s", checkpoint, resume_step, restored or "none")

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        trainer = trainer_class(
            model=model_path,
            reward_funcs=reward_funcs,
            args=args,
            train_dataset=dataset,
            peft_config=peft_config(config.model),
            callbacks=[
                MetricsJsonl(output_dir / config.logging.metrics_file, resume_step=resume_step),
                RewardState(reward_funcs),
            ],
        )
    logger.info(describe_distributed_setup(trainer))
    if trainer.accelerator.is_main_process:
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / "config.yaml").write_text(dump(config))
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    trainer.save_model(str(output_dir))
    if trainer.accelerator.is_main_process:
        stateful = {f.__name__: f for f in reward_funcs if hasattr(f, "state_dict")}
        if stateful:
            save_reward_state(stateful, output_dir)
    return output_dir
