"""`correctness`: 1 if the extracted final answer is mathematically equal to the gold answer."""

from __future__ import annotations

from dataclasses import dataclass

from rewards.base import RewardComponent


@dataclass
class CorrectnessParams:
    """`correctness` has no parameters of its own: how answers are found and checked is the stack's
    `answer_checking` section (`rewards.AnalysisOptions`), shared by every component."""


class Correctness(RewardComponent):
    r"""`correctness`: $r(y) = \mathbb{1}[\text{answer}(y) \equiv \text{gold}]$, in {0, 1}.

    The answer is `rewards.extract_answer(y)`; equivalence is `rewards.answers_match` (sympy, under
    a hard time bound, a batch checked at once on several processes; options: `AnalysisOptions`).
    A completion without an answer scores 0, and so does an unfinished one: cut at
    `max_completion_length` without an EOS token, or reasoning opened and never closed
    (`BatchAnalysis.unfinished`; `answer_checking.grade_unfinished: true` grades them as before).

    Also logs `completions/truncated_correct_frac` (the share of the batch that is unfinished and
    whose answer would have been right: what the truncation rule withholds) and
    `completions/unfinished_frac`.

    Also logs `accuracy`, `length/correct_mean` and `length/incorrect_mean` (completion tokens),
    the length curves the "don't overthink" comparison is read from, and `groups/uniform_correct_frac`:
    the share of question groups whose samples are all right or all wrong, which carry no
    correctness signal for GRPO. (TRL's `frac_reward_zero_std` undercounts them: the float32 std
    of equal rewards such as 0.2 is ~1e-8, above the tolerance it compares against.)

    >>> from rewards import build
    >>> [correctness], _ = build({"correctness": {"weight": 1.0}})
    >>> correctness(prompts=["q", "q"], completions=["<answer>4</answer>", "<answer>5</answer>"],
    ...             completion_ids=[[1, 2], [1]], answer=["4", "4"])
    [1.0, 0.0]
    """

    Params = CorrectnessParams
    incorrect_bounds = (0.0, 0.0)
    score_bounds = (1.0, 1.0)
    needs_correctness = True
    signals_correctness = True

    def score(self, analysis, columns: dict) -> list[float]:
        correct = analysis.correct
        self.log(columns, "accuracy", sum(correct) / max(len(correct), 1))
        self.log(columns, "completions/unfinished_frac", sum(analysis.unfinished) / max(len(correct), 1))
        self.log(columns, "completions/truncated_correct_frac", sum(analysis.truncated_correct) / max(len(correct), 1))
        groups: dict[str, set[bool]] = {}
        for question, ok in zip(analysis.question_ids, correct):
            groups.setdefault(question, set()).add(ok)
        if groups:
            self.log(columns, "groups/uniform_correct_frac", sum(len(seen) == 1 for seen in groups.values()) / len(groups))
        if analysis.completion_ids is not None:
            tokens = analysis.completion_tokens
            correct_tokens = [n for n, ok in zip(tokens, correct) if ok]
            incorrect_tokens = [n for n, ok in zip(tokens, correct) if not ok]
            if correct_tokens:
                self.log(columns, "length/correct_mean", sum(correct_tokens) / len(correct_tokens))
            if incorrect_tokens:
                self.log(columns, "length/incorrect_mean", sum(incorrect_tokens) / len(incorrect_tokens))
        return [1.0 if ok else 0.0 for ok in correct]
