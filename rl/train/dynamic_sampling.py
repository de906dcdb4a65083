"""DAPO dynamic sampling for TRL's `GRPOTrainer`: only prompt groups whose rewards differ enter the loss.

DAPO (Yu et al. 2025, arXiv 2503.14476, section 3.2) over-samples prompts and drops every group whose
G completions all score alike, until the batch is full of groups that carry a signal; DLER
(arXiv 2510.15110) uses it to shorten reasoning models. TRL 1.16 has no such option: this subclass adds it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import torch
from trl import GRPOTrainer
from trl.trainer.utils import nanstd, pad

from rl.config.schema import DynamicSamplingSettings

logger = logging.getLogger("rl.dynamic_sampling")

# Two rewards closer than this are equal: a float32 sum of weighted rewards carries ~1e-8 of rounding.
REWARD_TOLERANCE = 1e-6
# What every generation round returns, per completion, and how a rebuilt batch pads it (TRL's own padding).
PROMPT_KEYS = {"prompt_ids": "pad_token", "prompt_mask": 0}  # left-padded
COMPLETION_KEYS = {
    "completion_ids": "pad_token", "completion_mask": 0, "old_per_token_logps": 0.0, "sampling_per_token_logps": 0.0,
    "ref_per_token_logps": 0.0, "importance_sampling_ratio": 0.0, "tool_mask": 1,
}  # fmt: skip  # right-padded


def informative_groups(values: torch.Tensor, num_generations: int) -> torch.Tensor:
    """Which groups of `num_generations` consecutive values differ (NaN, an unscorable completion, ignored).

    Args:
        values: (groups * num_generations,) the filter metric of each completion, groups contiguous.
    Returns:
        (groups,) bool: True where at least two finite values differ by more than `REWARD_TOLERANCE`.

    >>> informative_groups(torch.tensor([1.0, 0.0, 1.0, 1.0, 0.2, float("nan")]), 2).tolist()
    [True, False, False]
    """
    grouped = values.view(-1, num_generations).float()
    finite = torch.isfinite(grouped)
    high = torch.where(finite, grouped, torch.full_like(grouped, -torch.inf)).amax(dim=1)
    low = torch.where(finite, grouped, torch.full_like(grouped, torch.inf)).amin(dim=1)
    return (finite.sum(dim=1) >= 2) & (high - low > REWARD_TOLERANCE)


def group_advantages(rewards: torch.Tensor, num_generations: int, scale_rewards: str) -> torch.Tensor:
    r"""GRPO advantages of a batch of whole groups, as TRL computes them (`multi_objective_aggregation: sum_then_normalize`).

    $$ A_i = \frac{r_i - \text{mean}(r_{\text{group}(i)})}{\sigma + 10^{-4}} $$
    with $\sigma$ the group's std (`scale_rewards: group`), the batch's (`batch`), or no division (`none`);
    NaN rewards (unscorable completions) are left out of the means and get advantage 0.

    Args:
        rewards: (groups * num_generations,) weighted total reward per completion, groups contiguous.
    Returns:
        (groups * num_generations,) advantages.

    >>> group_advantages(torch.tensor([1.0, 0.0, 3.0, 3.0]), 2, "none").tolist()
    [0.5, -0.5, 0.0, 0.0]
    """
    grouped = rewards.view(-1, num_generations)
    mean = torch.nanmean(grouped, dim=1).repeat_interleave(num_generations, dim=0)
    if scale_rewards == "batch":
        std = nanstd(rewards).expand_as(rewards) if rewards.numel() > 1 else torch.zeros_like(rewards)
    else:
        std = nanstd(grouped, dim=1).repeat_interleave(num_generations, dim=0)
    advantages = rewards - mean
    if scale_rewards != "none":
        advantages = advantages / (std + 1e-4)
    return torch.nan_to_num(advantages, nan=0.0)


@dataclass
class Round:
    """One generation round, as every rank sees it after gathering."""

    rewards: torch.Tensor  # (rows,) weighted total reward (NaN: unscorable)
    metric: torch.Tensor  # (rows,) the filter metric
    correct: torch.Tensor | None  # (rows,) the `correctness` reward, when the stack has one
    informative: torch.Tensor  # (rows / G,) bool
    rows: list[dict[str, torch.Tensor]] = field(
        default_factory=list
    )  # per completion, global order (rank by rank), CPU; gathered only when filtering


class DynamicSamplingGRPOTrainer(GRPOTrainer):
    """`GRPOTrainer` whose loss only sees prompt groups whose rewards differ, the batch refilled by over-sampling.

    Design (DAPO's Algorithm 1 inside TRL's batch layout):

    - A step's first round is TRL's own: the generation batch the dataloader gave
      (`generation_batch_size` completions, groups of `num_generations` laid out consecutively across
      ranks, a group possibly split between two ranks). Its rewards are gathered from every rank
      (TRL does that to normalise them), so every rank decides the same groups.
    - If every group differs (in `metric`), TRL's batch is returned untouched: exactly TRL's update.
    - Otherwise more rounds of the same size are generated until the groups that differ fill the
      batch (or `max_rounds` is reached), like DAPO and verl, which sample whole further batches.
      Their prompts are drawn uniformly without replacement from the training set by a generator
      seeded with (seed, step, round), so a resumed run draws the same prompts and the trainer's own
      dataloader (its epochs, its checkpointed position) is never touched.
    - The first `generation_batch_size / num_generations` informative groups, in generation order,
      form the batch. Every rank holds all kept rows (gathered once per round), lays them out as TRL
      does and takes its own slice, so groups may again span ranks and every rank has the same count.
    - Advantages are recomputed on the kept batch (TRL's formula, `group_advantages`): per group they
      are unchanged; with `scale_rewards: batch` (DLER) the std is the kept batch's, as in DAPO/DLER
      where the batch is normalised after filtering. `num_items_in_batch` (the token normaliser of
      the `dapo` loss) counts the kept tokens only.
    - When `max_rounds` run out, the missing groups are filled with filtered ones whose completion
      mask is zeroed (TRL's `mask_truncated_completions` mechanism): they add no gradient and no tokens.

    Metrics (per step): `dynamic_sampling/rounds`, `dynamic_sampling/generated_groups`,
    `dynamic_sampling/kept_groups` (groups entering the loss), `dynamic_sampling/padded_groups`; with a
    `correctness` reward, `groups/uniform_correct_frac` is that of the groups entering the loss (0 with
    `metric: correctness`) and `groups/generated_uniform_correct_frac` that of all groups generated.
    Reward and length metrics describe every completion generated (all rounds).

    Raises:
        ValueError: at construction, for `multi_objective_aggregation: normalize_then_sum` (its
            advantages are normalised over the whole batch before filtering) or a `metric` that is
            neither `reward` nor a reward function's name.
    """

    def __init__(self, *args, dynamic_sampling: DynamicSamplingSettings, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.dynamic_sampling = dynamic_sampling
        if self.multi_objective_aggregation != "sum_then_normalize":
            raise ValueError("dynamic sampling needs trainer.multi_objective_aggregation: sum_then_normalize")
        if dynamic_sampling.metric != "reward" and dynamic_sampling.metric not in self.reward_func_names:
            raise ValueError(
                f"dynamic_sampling.metric: {dynamic_sampling.metric!r} is not a reward of this run ({', '.join(self.reward_func_names)}) nor `reward`"
            )
        self._gathered_rewards: torch.Tensor | None = None

    # TRL gathers every rank's rewards here; keep them, the filter needs the whole generation batch.
    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        self._gathered_rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        return self._gathered_rewards

    def _generate_and_score_completions(self, inputs):
        if not self.model.training:
            return super()._generate_and_score_completions(inputs)
        metrics = self._metrics["train"]
        reward_logged = len(
            metrics.get("groups/uniform_correct_frac", [])
        )  # the correctness reward's own, per-rank value
        target_groups = self.args.generation_batch_size // self.num_generations
        first = super()._generate_and_score_completions(inputs)
        rounds = [self._describe_round()]
        if bool(rounds[0].informative.all()):  # nothing to filter: TRL's batch as it is
            self._replace_reward_metric(reward_logged)
            self._log_step(rounds, [(0, group) for group in range(target_groups)], padded=0)
            return first
        rounds[0].rows = self._gather_rows(first)
        while (
            len(rounds) < self.dynamic_sampling.max_rounds
            and sum(int(r.informative.sum()) for r in rounds) < target_groups
        ):
            output = super()._generate_and_score_completions(self._refill_inputs(len(rounds), len(inputs)))
            rounds.append(self._describe_round())
            rounds[-1].rows = self._gather_rows(output)
        self._replace_reward_metric(reward_logged)
        return self._assemble(rounds, first, target_groups)

    def _replace_reward_metric(self, reward_logged: int) -> None:
        """Drop this step's `groups/uniform_correct_frac` as the reward logged it (per rank, all rounds); `_log_step` logs the global one."""
        metrics = self._metrics["train"]
        if "groups/uniform_correct_frac" in metrics:
            del metrics["groups/uniform_correct_frac"][reward_logged:]
            if not metrics["groups/uniform_correct_frac"]:
                del metrics["groups/uniform_correct_frac"]

    def _describe_round(self) -> Round:
        """The round's rewards (gathered by TRL from every rank) and which of its groups differ in `metric`."""
        rewards_per_func = self._gathered_rewards
        weights = self.reward_weights.to(rewards_per_func.device).unsqueeze(0)
        rewards = (rewards_per_func * weights).nansum(dim=1)
        rewards[torch.isnan(rewards_per_func).all(dim=1)] = torch.nan
        names = list(self.reward_func_names)
        metric = (
            rewards
            if self.dynamic_sampling.metric == "reward"
            else rewards_per_func[:, names.index(self.dynamic_sampling.metric)]
        )
        metric = metric.float().cpu()
        correct = rewards_per_func[:, names.index("correctness")].cpu() if "correctness" in names else None
        return Round(
            rewards=rewards.cpu(),
            metric=metric,
            correct=correct,
            informative=informative_groups(metric, self.num_generations),
        )

    def _gather_rows(self, output: dict) -> list[dict[str, torch.Tensor]]:
        """Every rank's completions of one round, one dict of CPU tensors each, in TRL's global order (rank by rank)."""
        from accelerate.utils import gather_object

        allowed = (*PROMPT_KEYS, *COMPLETION_KEYS, "advantages", "num_items_in_batch")
        unknown = [key for key, value in output.items() if value is not None and key not in allowed]
        if unknown:
            raise NotImplementedError(
                f"dynamic sampling handles text completions only; this batch also has {', '.join(sorted(unknown))}"
            )
        keys = [key for key, value in output.items() if value is not None and key != "num_items_in_batch"]
        local_rows = [{key: output[key][i].detach().cpu() for key in keys} for i in range(len(output["prompt_ids"]))]
        return gather_object(local_rows)

    def _refill_inputs(self, round_index: int, local_rows: int) -> list[dict]:
        """This rank's share of a further generation batch: fresh prompts, each repeated `num_generations` times."""
        dataset = self.train_dataset
        prompts = self.args.generation_batch_size // self.num_generations
        generator = torch.Generator().manual_seed(
            int(self.args.seed) * 1_000_003 + self.state.global_step * 1_009 + round_index
        )
        indices: list[int] = []
        while len(indices) < prompts:  # a training set smaller than one batch is drawn from again
            indices += torch.randperm(len(dataset), generator=generator).tolist()
        layout = [index for index in indices[:prompts] for _ in range(self.num_generations)]
        start = self.accelerator.process_index * local_rows
        return [dataset[index] for index in layout[start : start + local_rows]]

    def _assemble(self, rounds: list[Round], first_output: dict, target_groups: int) -> dict:
        """The batch of the first `target_groups` informative groups (padded with masked ones if short), this rank's slice."""
        G = self.num_generations
        kept = [
            (r, g) for r, round_ in enumerate(rounds) for g in range(len(round_.informative)) if round_.informative[g]
        ][:target_groups]
        padding = [
            (r, g)
            for r, round_ in enumerate(rounds)
            for g in range(len(round_.informative))
            if not round_.informative[g]
        ]
        padding = padding[: target_groups - len(kept)]
        if padding:
            logger.warning("dynamic sampling: %d of %d groups after %d rounds; %d filtered groups fill the batch with their tokens masked "
                           "(raise dynamic_sampling.max_rounds)", len(kept), target_groups, len(rounds), len(padding))  # fmt: skip
        groups = kept + padding
        rewards = torch.cat([rounds[r].rewards[g * G : (g + 1) * G] for r, g in groups])
        advantages = group_advantages(rewards, G, self.scale_rewards)
        if padding:  # the batch std must not count the padding groups
            advantages[: len(kept) * G] = group_advantages(rewards[: len(kept) * G], G, self.scale_rewards)
            advantages[len(kept) * G :] = 0.0
        rows = []
        for position, (r, g) in enumerate(groups):
            for i in range(G):
                row = dict(rounds[r].rows[g * G + i])
                row["advantages"] = advantages[position * G + i]
                if position >= len(kept):
                    row["completion_mask"] = torch.zeros_like(row["completion_mask"])
                rows.append(row)
        loss_tokens = sum(int((row["completion_mask"] * row.get("tool_mask", 1)).sum()) for row in rows)
        local = len(rows) // self.accelerator.num_processes
        start = self.accelerator.process_index * local
        batch = self._stack(rows[start : start + local])
        device = self.accelerator.device
        batch["num_items_in_batch"] = torch.tensor(
            loss_tokens, dtype=first_output["num_items_in_batch"].dtype, device=device
        )
        self._log_step(rounds, kept, padded=len(padding))
        return batch

    def _stack(self, rows: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        """Rows -> padded tensors on this rank's device, as TRL pads them (prompts left, completions right)."""
        device = self.accelerator.device
        multiple = self.pad_to_multiple_of
        batch = {"advantages": torch.stack([row["advantages"] for row in rows]).to(device)}
        for keys, side in ((PROMPT_KEYS, "left"), (COMPLETION_KEYS, "right")):
            for key, fill in keys.items():
                if key not in rows[0]:
                    continue
                value = self._tokenizer.pad_token_id if fill == "pad_token" else fill
                batch[key] = pad(
                    [row[key] for row in rows], padding_value=value, padding_side=side, pad_to_multiple_of=multiple
                ).to(device)
        return batch

    def _log_step(self, rounds: list[Round], kept: list[tuple[int, int]], padded: int) -> None:
        G = self.num_generations
        metrics = self._metrics["train"]
        metrics["dynamic_sampling/rounds"].append(float(len(rounds)))
        metrics["dynamic_sampling/generated_groups"].append(float(sum(len(r.informative) for r in rounds)))
        metrics["dynamic_sampling/kept_groups"].append(float(len(kept)))
        metrics["dynamic_sampling/padded_groups"].append(float(padded))
        if rounds[0].correct is None:
            return

        def uniform(r: int, g: int) -> bool:
            return not bool(informative_groups(rounds[r].correct[g * G : (g + 1) * G], G)[0])

        generated = [(r, g) for r, round_ in enumerate(rounds) for g in range(len(round_.informative))]
        metrics["groups/generated_uniform_correct_frac"].append(
            sum(uniform(r, g) for r, g in generated) / len(generated)
        )
        if kept:
            metrics["groups/uniform_correct_frac"].append(sum(uniform(r, g) for r, g in kept) / len(kept))
