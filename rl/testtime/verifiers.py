"""Verifiers: a process verifier scores each step of a solution, an outcome verifier the whole of it.

Both are a causal LM with a one-logit token-classification head (`AutoModelForTokenClassification`,
`num_labels=1`) read at the last token of each step; `sigmoid(logit)` is the score. Trained by
`rl prm train` (`rl.testtime.prm_train`) and loaded here with `load_verifier`; `split_steps` is the one rule
that cuts a completion into steps, shared by step labelling (`rl.testtime.prm_labels`) and step-level search.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from rl.errors import UserError

VERIFIER_FILE = "verifier.json"  # written last into a trained verifier's directory: what it is, how it splits steps
KINDS = ("process", "outcome")


def split_steps(completion: str, separator: str = "\n") -> list[str]:
    """Cut a completion into steps, each ending with its `separator` (the last one may not); lossless.

    `"".join(split_steps(c, s)) == c` always holds, so a step prefix is a prefix of the completion's
    text. A piece that is only whitespace is joined to the step before it (no empty steps).

    >>> split_steps(" 1 + 2 = 3 . 3 - 1 = 2 . So the answer is 2 .", " .")
    [' 1 + 2 = 3 .', ' 3 - 1 = 2 .', ' So the answer is 2 .']
    >>> split_steps("a\\nb\\n\\n c", "\\n")
    ['a\\n', 'b\\n\\n', ' c']

    Raises:
        ValueError: an empty separator.
    """
    if not separator:
        raise ValueError("the step separator must not be empty")
    pieces = [piece + separator for piece in completion.split(separator)]
    pieces[-1] = pieces[-1][: -len(separator)]  # the text after the last separator has none
    steps: list[str] = []
    for piece in pieces:
        if steps and not piece.strip():
            steps[-1] += piece
        elif piece:
            steps.append(piece)
    return steps


@dataclass(frozen=True)
class VerifierInfo:
    """What `verifier.json` records about a trained verifier."""

    kind: str  # "process" (trained on every step's m/n label) or "outcome" (on the final correctness only)
    step_separator: str  # the separator its training labels were made with (`split_steps`)
    targets: str = "soft"  # "soft" (m/n) or "hard" (m/n > threshold) training targets
    base_model: str = ""  # the model its weights started from
    labels_file: str = ""  # the step labels it was trained on


def encode_steps(tokenizer, prompt: str, steps: list[str], max_length: int | None = None) -> tuple[list[int], list[int]]:
    """Token ids of `prompt + "".join(steps)` and, per step, the index of its last token.

    The last token of a step is the one holding the step's last character (offsets of a fast
    tokenizer), so a token straddling a step boundary counts for the step it ends. With
    `max_length`, the ids are cut to it and the steps that end beyond it are dropped: the index
    list can be shorter than `steps`. With no steps, the one index is the prompt's last token.
    """
    text = prompt + "".join(steps)
    encoded = tokenizer(text, return_offsets_mapping=True, add_special_tokens=False)
    ids, offsets = encoded["input_ids"], encoded["offset_mapping"]
    step_ends, end = [], len(prompt)
    for step in steps or [""]:
        end += len(step)
        step_ends.append(end)
    positions, token = [], 0
    for char_end in step_ends:
        while token + 1 < len(offsets) and offsets[token + 1][0] < char_end:
            token += 1
        positions.append(token)
    if max_length is not None and len(ids) > max_length:
        ids = ids[:max_length]
        positions = [position for position in positions if position < max_length]
    return ids, positions


class Verifier:
    """A trained verifier (`load_verifier`): per-step scores and whole-completion scores in [0, 1].

    Attributes:
        kind: "process" or "outcome".
        step_separator: the separator of its training labels; `split_steps` with it cuts completions here.
    """

    def __init__(self, model, tokenizer, info: VerifierInfo, batch_size: int = 32) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.info = info
        self.kind = info.kind
        self.step_separator = info.step_separator
        self.batch_size = batch_size

    def score_steps(self, prompts: list, steps: list[list[str]]) -> list[list[float]]:
        """Per prompt, the score after each of its steps: `sigmoid(logit)` at the step's last token.

        A process verifier's score estimates P(this prefix still leads to the right answer); an
        outcome verifier's is only meaningful after the last step, but one score per step is returned.

        Args:
            prompts: the prompt each solution answers, as the policy saw it: text, or a message list
                (rendered with this verifier's chat template, `rewards.layout.generation_prompt`).
            steps: per prompt, its steps (`split_steps`); joined they are the completion's text.

        Returns:
            per prompt, `len(steps[i])` floats in [0, 1] (none for an empty step list).
        """
        if len(prompts) != len(steps):
            raise ValueError(f"{len(prompts)} prompts but {len(steps)} step lists")
        scores = self._scores_at_step_ends(prompts, steps)
        return [values if step_list else [] for values, step_list in zip(scores, steps)]

    def score(self, prompts: list, completions: list[str]) -> list[float]:
        """The score of each whole completion: the score after its last step (the prompt's end if it is empty)."""
        if len(prompts) != len(completions):
            raise ValueError(f"{len(prompts)} prompts but {len(completions)} completions")
        steps = [split_steps(completion, self.step_separator) for completion in completions]
        return [values[-1] for values in self._scores_at_step_ends(prompts, steps)]

    def _scores_at_step_ends(self, prompts: list, steps: list[list[str]]) -> list[list[float]]:
        import torch

        from rewards.layout import generation_prompt

        encoded = [encode_steps(self.tokenizer, generation_prompt(self.tokenizer, prompt), step_list) for prompt, step_list in zip(prompts, steps)]
        pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        results: list[list[float]] = []
        for start in range(0, len(encoded), self.batch_size):
            chunk = encoded[start : start + self.batch_size]
            width = max(len(ids) for ids, _ in chunk)
            # Right padding: with causal attention the real tokens' logits do not depend on it.
            input_ids = torch.tensor([ids + [pad_id] * (width - len(ids)) for ids, _ in chunk])
            attention_mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids, _ in chunk])
            with torch.no_grad():
                logits = self.model(input_ids=input_ids.to(self.model.device), attention_mask=attention_mask.to(self.model.device)).logits[..., 0]
            probabilities = torch.sigmoid(logits.float()).cpu()
            results += [probabilities[row, positions].tolist() for row, (_, positions) in enumerate(chunk)]
        return results


def load_verifier(path: str | Path, device: str = "cpu") -> Verifier:
    """The verifier `rl prm train` saved in `path`.

    Raises:
        UserError: `path` is not a directory holding a finished verifier (no `verifier.json`).
    """
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    path = Path(path)
    info_file = path / VERIFIER_FILE
    if not info_file.is_file():
        hint = " (its training has not finished)" if path.is_dir() and (path / "config.json").is_file() else ""
        raise UserError(f"--verifier {path}: not a trained verifier, no {VERIFIER_FILE} in it{hint}; train one with `python -m rl prm train`")
    info = VerifierInfo(**json.loads(info_file.read_text()))
    model = AutoModelForTokenClassification.from_pretrained(path).to(device)
    tokenizer = AutoTokenizer.from_pretrained(path)
    return Verifier(model, tokenizer, info)


def write_verifier_info(path: Path, info: VerifierInfo) -> None:
    """Write `verifier.json` (last: its presence says the verifier is complete), through a temporary name."""
    temporary = Path(path) / (VERIFIER_FILE + ".tmp")
    temporary.write_text(json.dumps(asdict(info), indent=2))
    temporary.replace(Path(path) / VERIFIER_FILE)


def roc_auc(scores: list[float], positives: list[bool]) -> float | None:
    """Area under the ROC curve: P(a random positive scores above a random negative), ties counting half.

    The Mann-Whitney U statistic over midranks. None when either class is empty.

    >>> roc_auc([0.9, 0.8, 0.3, 0.1], [True, False, True, False])
    0.75
    """
    order = sorted(range(len(scores)), key=lambda index: scores[index])
    ranks = [0.0] * len(scores)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and scores[order[end + 1]] == scores[order[start]]:
            end += 1
        for index in order[start : end + 1]:
            ranks[index] = (start + end) / 2 + 1  # midrank of a tie group
        start = end + 1
    positive_count = sum(positives)
    negative_count = len(positives) - positive_count
    if positive_count == 0 or negative_count == 0:
        return None
    positive_rank_sum = sum(rank for rank, positive in zip(ranks, positives) if positive)
    return (positive_rank_sum - positive_count * (positive_count + 1) / 2) / (positive_count * negative_count)


def step_auc(verifier: Verifier, rows: list[dict], threshold: float = 0.5) -> dict:
    """How well a verifier's step scores separate good steps from bad ones on labelled rows.

    A step is good when its m/n label exceeds `threshold` (the rows of `rl prm label`: `prompt`,
    `completions`, `labels`). Returns `auc` (None if one class is empty), `steps`, `good_steps`,
    and `final_auc`, the same over the last steps only (the solution's correctness).
    """
    scores = verifier.score_steps([row["prompt"] for row in rows], [row["completions"] for row in rows])
    flat_scores = [value for values in scores for value in values]
    flat_good = [label > threshold for row in rows for label in row["labels"]]
    last_scores = [values[-1] for values in scores if values]
    last_good = [row["labels"][-1] > threshold for row in rows if row["labels"]]
    return {
        "auc": roc_auc(flat_scores, flat_good), "steps": len(flat_scores), "good_steps": sum(flat_good),
        "final_auc": roc_auc(last_scores, last_good), "solutions": len(last_scores), "threshold": threshold,
    }  # fmt: skip
