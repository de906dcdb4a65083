"""`rl prm label`: Monte-Carlo step labels for a process verifier (Math-Shepherd, arXiv:2312.08935).

Sample K solutions per question, cut each into steps (`rl.testtime.verifiers.split_steps`), roll out n
continuations from every step prefix, grade each rollout through the training reward stack
(`rl.eval.rollout.RolloutContext.grade`) and label the step m/n, the share of its rollouts that reach the right
answer; the last step's label is the solution's own correctness. Written in the step-wise layout of
TRL's old PRM datasets (`prompt`, `completions` = the steps, `labels`), one line per solution.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from rl.config import PrmLabelSettings, RunConfig
from rl.errors import UserError
from rl.eval.generation import Generations
from rl.testtime.verifiers import split_steps

logger = logging.getLogger("rl.prm_labels")
LABELS_FILE = "labels.jsonl"  # the finished dataset, written once through a temporary name
PARTIAL_FILE = "labels.partial.jsonl"  # one line per labelled question, appended as it goes (resume)
SETTINGS_FILE = "label_settings.json"  # what the partial file was made with: a resume must match it
SUMMARY_FILE = "summary.json"

Grader = Callable[[list[dict], Generations], list[list[dict]]]  # RolloutContext.grade: the run's rewards bound


class Policy(Protocol):
    """What labelling samples from: continuations of texts (the prompt as the model sees it + a prefix)."""

    def sample(self, texts: list[str], n: int, max_new_tokens: list[int]) -> Generations:
        """Per text, n continuations as (text, token ids incl. a final EOS), each within its own token budget."""
        ...

    def token_ids(self, text: str) -> list[int]:
        """The ids of a completion's text (a step prefix), for its token count."""
        ...

    def render(self, prompt: object) -> str:
        """A dataset prompt (text or messages) as the model continues it (`rewards.layout.generation_prompt`)."""
        ...


class HFPolicy:
    """A transformers causal LM sampled with batched `generate` (left padding, stops at TRL's EOS ids)."""

    def __init__(self, model_path: str, temperature: float, batch_size: int = 32, chat_template_kwargs: dict | None = None) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from rewards.layout import eos_token_ids

        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(model_path).eval()
        self.stop_ids = list(eos_token_ids(self.tokenizer, self.model.generation_config, include_pad=False))
        self.temperature = temperature
        self.batch_size = batch_size
        self.chat_template_kwargs = chat_template_kwargs

    def render(self, prompt: object) -> str:
        from rewards.layout import generation_prompt

        return generation_prompt(self.tokenizer, prompt, self.chat_template_kwargs)

    def token_ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def sample(self, texts: list[str], n: int, max_new_tokens: list[int]) -> Generations:
        import torch

        # A batch runs until its longest sample ends: texts with similar budgets (prefixes of similar
        # length) go together, so short continuations do not wait on long ones as padding.
        order = sorted(range(len(texts)), key=lambda index: (-max_new_tokens[index], len(texts[index])))
        results: list = [None] * len(texts)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            budgets = [max_new_tokens[index] for index in batch]
            encoded = self.tokenizer([texts[index] for index in batch], return_tensors="pt", padding=True, add_special_tokens=False)
            with torch.no_grad():
                output = self.model.generate(
                    **encoded, max_new_tokens=max(budgets), do_sample=True, temperature=self.temperature, top_p=None, top_k=None,
                    num_return_sequences=n, pad_token_id=self.tokenizer.pad_token_id, eos_token_id=self.stop_ids,
                )  # fmt: skip
            completions = output[:, encoded["input_ids"].shape[1] :].tolist()
            for row, (index, budget) in enumerate(zip(batch, budgets)):
                samples = []
                for ids in completions[row * n : (row + 1) * n]:
                    stops = [position for position, token in enumerate(ids) if token in self.stop_ids]
                    ids = ids[: stops[0] + 1] if stops else ids  # padding follows the first EOS; the EOS counts, as in TRL
                    ids = ids[:budget]  # the batch shares the longest budget; each keeps its own
                    samples.append((self.tokenizer.decode(ids, skip_special_tokens=True), ids))
                results[index] = samples
        return results


def label_questions(rows: list[dict], texts: list[str], policy: Policy, grade: Grader, samples: int, rollouts: int,
                    max_new_tokens: int, separator: str) -> list[list[dict]]:  # fmt: skip
    """Per question, its K labelled solutions (rows of the dataset).

    Args:
        rows: questions (`id`, `question`, `answer`, `prompt` as the data loader made it).
        texts: each question's prompt as the model continues it (rendered).
        policy: the model sampled from; grade: the training reward stack's grading.
        samples, rollouts: K solutions per question, n rollouts per step prefix.
        max_new_tokens: a solution's budget; a rollout gets what its prefix left of it.

    Returns:
        per question, per solution: `prompt` (rendered), `completions` (its steps), `labels`
        (m/n per step, the last one 1.0/0.0 by the solution's correctness), `correct`, `successes`
        (m per step), `rollouts` (n), `tokens` (the solution's), `rollout_tokens` (generated for its
        labels; a prefix shared by several solutions is rolled out once and counted on the first, with
        `prefixes_rolled_out`), `step_separator`, `id`, `question`, `answer`, `sample`. A solution with no
        text has no steps and is left out.
    """
    solutions = policy.sample(texts, samples, [max_new_tokens] * len(texts))
    graded_solutions = grade(rows, solutions)
    # A question's solutions often share their first steps: each distinct prefix is rolled out once.
    prefix_index: dict[str, int] = {}  # prompt text + prefix -> its place in the rollout batch
    prefix_rows, prefix_texts, prefix_budgets, prefix_ids, payer = [], [], [], [], []
    step_prefixes: list[tuple[dict, list[int]]] = []  # per solution, the rollout-batch place of each step but the last
    records: list[list[dict]] = []
    for row, text, generated, graded in zip(rows, texts, solutions, graded_solutions):
        records.append([])
        for sample, ((completion, ids), grading) in enumerate(zip(generated, graded)):
            steps = split_steps(completion, separator)
            if not steps:
                continue
            record = {
                "id": row["id"], "question": row["question"], "answer": row["answer"], "sample": sample, "prompt": text,
                "completions": steps, "labels": [], "successes": [], "correct": grading["correct"], "rollouts": rollouts,
                "tokens": len(ids), "rollout_tokens": 0, "prefixes_rolled_out": 0, "step_separator": separator,
            }  # fmt: skip
            records[-1].append(record)
            places, prefix = [], ""
            for step in steps[:-1]:
                prefix += step
                if text + prefix not in prefix_index:
                    ids_so_far = policy.token_ids(prefix)
                    prefix_index[text + prefix] = len(prefix_texts)
                    prefix_rows.append(row)
                    prefix_texts.append(text + prefix)
                    prefix_budgets.append(max(1, max_new_tokens - len(ids_so_far)))
                    prefix_ids.append((prefix, ids_so_far))
                    payer.append(record)  # the generated tokens are counted once, on the first solution that asked
                places.append(prefix_index[text + prefix])
            step_prefixes.append((record, places))
    continuations = policy.sample(prefix_texts, rollouts, prefix_budgets) if prefix_texts else []
    whole = [[(prefix + rest, ids + more) for rest, more in outputs] for (prefix, ids), outputs in zip(prefix_ids, continuations)]
    graded_rollouts = grade(prefix_rows, whole) if whole else []
    successes = [sum(sample["correct"] for sample in graded) for graded in graded_rollouts]
    for record, outputs in zip(payer, continuations):
        record["rollout_tokens"] += sum(len(ids) for _, ids in outputs)
        record["prefixes_rolled_out"] += 1
    for record, places in step_prefixes:
        record["successes"] = [successes[place] for place in places] + [rollouts if record["correct"] else 0]
        record["labels"] = [count / rollouts for count in record["successes"]]
    return records


def labels_dir(config: RunConfig, split: str) -> Path:
    settings = config.prm.label
    if settings.output_dir:
        return Path(settings.output_dir)
    return Path(f"{config.output_dir}-prm-labels" + ("" if split == "train" else f"-{split}"))


def label(config: RunConfig, model: str, out_dir: Path | None = None, policy: Policy | None = None, context=None) -> dict:
    """Label the steps of K solutions per question of the configured split; returns the summary.

    `policy` samples solutions and rollouts (default: `HFPolicy` of `model`, the usual case);
    `context` grades them (`rl.eval.rollout.RolloutContext` of `model`, built here when not given, at
    the budget `prm.label.max_new_tokens` when that is set).

    Resumable: questions already in `labels.partial.jsonl` are skipped (the settings must match);
    the finished dataset `labels.jsonl` is written at the end through a temporary name, with
    `summary.json` (counts, tokens generated, wall time).

    Raises:
        UserError: the output directory holds labels made with other settings.
    """
    import torch
    from tqdm.auto import tqdm

    from rl.config.trainer_args import trainer_value
    from rl.data.jsonl import read_jsonl_tolerant, write_jsonl
    from rl.data.rows import load_rows
    from rl.eval.rollout import RolloutContext

    started = time.perf_counter()
    settings: PrmLabelSettings = config.prm.label
    split = settings.split or config.data.split
    out = Path(out_dir) if out_dir else labels_dir(config, split)
    context = (context or RolloutContext.build(config, model)).with_budget(settings.max_new_tokens)
    max_new_tokens = context.max_completion_length
    temperature = settings.temperature or float(trainer_value(config.algorithm, config.trainer, "temperature") or 1.0)
    fingerprint = {"model": model, "split": split, "separator": config.prm.step_separator, "samples": settings.samples, "rollouts": settings.rollouts,
                   "temperature": temperature, "max_new_tokens": max_new_tokens, "data": config.data.model_dump(), "prompt": config.prompt.model_dump(),
                   "rewards": config.rewards, "answer_checking": config.answer_checking}  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    settings_file = out / SETTINGS_FILE
    if settings_file.is_file() and json.loads(settings_file.read_text()) != json.loads(json.dumps(fingerprint)):
        raise UserError(f"{out} holds step labels made with other settings ({settings_file}); choose another --out or delete it")
    settings_file.write_text(json.dumps(fingerprint, indent=2))
    if (out / SUMMARY_FILE).is_file() and (out / LABELS_FILE).is_file():
        logger.info("step labels already complete in %s", out)
        return json.loads((out / SUMMARY_FILE).read_text())

    data = config.data.model_copy(update={"limit": settings.limit or config.data.limit})
    rows = list(load_rows(data, config.prompt, split=split))
    grade = context.grade
    policy = policy or HFPolicy(context.model_path, temperature, settings.batch_size, context.chat_template_kwargs)
    torch.manual_seed(settings.seed)

    partial_file = out / PARTIAL_FILE
    done, torn = read_jsonl_tolerant(partial_file) if partial_file.is_file() else ([], 0)
    if torn:
        logger.warning("%s: %d torn line(s) (a kill mid-write) ignored; those questions are labelled again", partial_file, torn)
        write_jsonl(partial_file, done)
    done_ids = {line["id"] for line in done}
    todo = [row for row in rows if row["id"] not in done_ids]
    per_chunk = max(1, settings.batch_size // settings.samples)
    counts = tally([line["solutions"] for line in done])
    with partial_file.open("a") as handle, tqdm(total=len(rows), initial=len(rows) - len(todo), desc="labelling steps", unit="question") as progress:
        for start in range(0, len(todo), per_chunk):
            chunk = todo[start : start + per_chunk]
            texts = [policy.render(row["prompt"]) for row in chunk]
            labelled = label_questions(chunk, texts, policy, grade, settings.samples, settings.rollouts, max_new_tokens, config.prm.step_separator)
            for row, solutions in zip(chunk, labelled):
                handle.write(json.dumps({"id": row["id"], "solutions": solutions}) + "\n")
                done.append({"id": row["id"], "solutions": solutions})
            handle.flush()
            os.fsync(handle.fileno())
            counts = tally([line["solutions"] for line in done])
            progress.set_postfix(steps=counts["steps"], rollouts=counts["rollouts"], good=f"{counts['good_step_share']:.2f}")
            progress.update(len(chunk))
    order = {row["id"]: index for index, row in enumerate(rows)}
    solutions = [solution for line in sorted(done, key=lambda line: order.get(line["id"], len(order))) for solution in line["solutions"]]
    write_jsonl(out / LABELS_FILE, solutions)  # complete or absent
    summary = {**counts, "model": model, "split": split, "step_separator": config.prm.step_separator, "samples": settings.samples,
               "rollouts_per_step": settings.rollouts, "temperature": temperature, "max_new_tokens": max_new_tokens,
               "labels_file": str(out / LABELS_FILE), "wall_seconds_this_run": round(time.perf_counter() - started, 2)}  # fmt: skip
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2))
    logger.info("step labels: %d solutions, %d steps, %d rollouts -> %s", counts["solutions"], counts["steps"], counts["rollouts"], out / LABELS_FILE)
    return summary


def tally(per_question: list[list[dict]]) -> dict:
    """Counts over labelled questions: solutions, correct ones, steps, rollouts, tokens generated, label means."""
    solutions = [solution for question in per_question for solution in question]
    labels = [label for solution in solutions for label in solution["labels"]]
    return {
        "questions": len(per_question),
        "solutions": len(solutions),
        "correct_solutions": sum(solution["correct"] for solution in solutions),
        "steps": len(labels),
        "distinct_prefixes": sum(solution["prefixes_rolled_out"] for solution in solutions),
        "rollouts": sum(solution["rollouts"] * solution["prefixes_rolled_out"] for solution in solutions),
        "mean_label": round(sum(labels) / len(labels), 4) if labels else None,
        "good_step_share": sum(label > 0.5 for label in labels) / len(labels) if labels else 0.0,
        "solution_tokens": sum(solution["tokens"] for solution in solutions),
        "rollout_tokens": sum(solution["rollout_tokens"] for solution in solutions),
    }


def read_labels(path: str | Path) -> list[dict]:
    """The rows of a step-label file (`labels.jsonl`, or a directory holding one).

    Raises:
        UserError: no such file, or a row without `prompt`, `completions` and `labels` of equal length.
    """
    path = Path(path)
    if path.is_dir():
        path = path / LABELS_FILE
    if not path.is_file():
        raise UserError(f"--labels {path}: no such file; make it with `python -m rl prm label`")
    from rl.data.jsonl import read_jsonl

    try:
        numbered = read_jsonl(path)
    except ValueError as error:
        raise UserError(f"--labels {path}: {error}") from None
    rows = []
    for number, row in numbered:
        missing = [key for key in ("prompt", "completions", "labels") if key not in row]
        if missing:
            raise UserError(f"--labels {path}: line {number} lacks {', '.join(missing)} (the step-wise layout: prompt, completions, labels)")
        if len(row["completions"]) != len(row["labels"]) or not row["labels"]:
            raise UserError(f"--labels {path}: line {number} has {len(row['completions'])} steps but {len(row['labels'])} labels")
        if not all(0 <= float(value) <= 1 for value in row["labels"]):
            raise UserError(f"--labels {path}: line {number} has a label outside [0, 1]")
        rows.append(row)
    if not rows:
        raise UserError(f"--labels {path}: no labelled solutions in it")
    return rows
