"""Per-completion facts (answer, correctness, finished, tokens, reasoning), computed once per batch and shared.

TRL calls every reward function with the same batch; the first call analyses it, the rest read
the cached analysis, so an answer is parsed and checked once per step however many rewards use it.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property

from rewards.extract import FALLBACKS, extract_answer
from rewards.layout import (
    LAYOUTS,
    continued_text,
    hit_length_limit,
    prompt_opens_reasoning,
    reasoning_text,
    reasoning_unclosed,
)
from rewards.verify import DEFAULT_TIMEOUT_S, CheckReport, check_answers

logger = logging.getLogger("rewards.verify")
# More than this share of a batch's answers left unchecked is worth a warning (a few timeouts are not).
UNCHECKED_WARN_FRACTION = 0.05


def message_text(message: object) -> str:
    """Text of a plain-string or conversational (`[{"role", "content"}]`) prompt or completion."""
    if isinstance(message, str):
        return message
    if isinstance(message, list):
        return "".join(str(turn.get("content", "")) for turn in message if isinstance(turn, dict))
    if isinstance(message, dict):
        return str(message.get("content", ""))
    return "" if message is None else str(message)


def gold_text(value: object) -> str | None:
    """A dataset gold as a string, or None when it is missing: None, NaN (pandas, numpy, float), NA or blank.

    A missing gold must never be compared: `str(None)` is the string `None`, which a completion can
    write. (`rl`'s data loading skips such rows; a user of the library may not.)

    >>> gold_text(7), gold_text(None), gold_text(float("nan")), gold_text("  ")
    ('7', None, None, None)
    """
    if value is None:
        return None
    try:
        if value != value:  # NaN of any flavour
            return None
    except (TypeError, ValueError):  # pandas.NA and arrays refuse to be truth-tested: not a gold
        return None
    text = str(value).strip()
    return text or None


def question_id(prompt_text: str) -> str:
    """Stable id of a question without an `id` column: a hash of its prompt text."""
    return hashlib.sha1(prompt_text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class AnalysisOptions:
    """How answers are found and checked (config section `answer_checking`); shared by every component of a stack."""

    gold_column: str = "answer"  # batch column with each row's gold answer (`rl` writes it as `answer`)
    id_column: str = "id"
    question_column: str = "question"
    # Outputs without tags or boxes: `last_number` grades their last number (GSM8K-style), `stated` the
    # answer their prose states ("So, the final answer is 29."); null grades only tags and boxes.
    fallback: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S  # hard bound per answer check, seconds
    workers: int | None = None  # checker processes per batch; None: the free cores, at least 1
    batch_budget_s: float | None = 60.0  # wall-clock bound on a whole batch's checking; unchecked answers score 0
    precision: int | None = None  # decimal places a decimal answer may be rounded to (`0.33` for 1/3 at 2); None: exact
    # The layout `format` asks for (rewards.layout.LAYOUTS): `r1_zero` (<think>..</think><answer>..</answer>),
    # `think_boxed` (<think>..</think> then a final answer with a \boxed{}: R1-Distill, Qwen3 thinking mode)
    # or `boxed` (no tags: plain reasoning, then one final \boxed{}: an instruct model).
    layout: str = "r1_zero"
    # Conversational prompts: the chat template's generation prompt ends inside `<think>` (plain-string
    # prompts are read from their own text). `rewards.layout.generation_settings(tokenizer, ...)` decides it.
    chat_opens_reasoning: bool = False
    max_completion_length: int | None = None  # TRL's token budget: a completion this long without EOS was cut
    eos_token_ids: tuple[int, ...] | None = None  # ids that end a finished completion (tokenizer EOS/pad, generation config)
    grade_unfinished: bool = False  # pay cut or never-closed completions for their answer (the old behaviour)
    # true for datasets written with decimal commas: `0,5` is then the number 0.5 on both sides, not
    # the list 0, 5 (the default reading, MATH's and GSM8K's; `1,000` is one thousand there).
    decimal_comma: bool = False

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {self.layout!r}")
        if self.max_completion_length is not None and self.max_completion_length < 1:
            raise ValueError(f"max_completion_length must be >= 1 (or null), got {self.max_completion_length}")
        if self.eos_token_ids is not None:
            object.__setattr__(self, "eos_token_ids", tuple(int(i) for i in self.eos_token_ids))  # from YAML: a list
        if self.fallback not in FALLBACKS:
            raise ValueError(f"fallback must be null, 'last_number' or 'stated', got {self.fallback!r}")
        if not self.timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s}")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be >= 1 (or null for the free cores), got {self.workers}")
        if self.precision is not None and not 0 <= self.precision <= 12:
            raise ValueError(f"precision must be 0-12 decimal places (or null), got {self.precision}")
        if self.batch_budget_s is not None and not self.batch_budget_s > 0:
            raise ValueError(f"batch_budget_s must be > 0 (or null for none), got {self.batch_budget_s}")


class UncheckedWatch:
    """Says once, with the reason, when a batch leaves more than `UNCHECKED_WARN_FRACTION` of its answers unchecked.

    Once per run of such batches, not once per process: after a batch that is checked again, the next
    bad one warns again (a checker that broke, recovered and broke again is reported twice).
    """

    def __init__(self) -> None:
        self.alarmed = False
        self._lock = threading.Lock()

    def observe(self, checked: int, unchecked: int, report: CheckReport) -> None:
        bad = checked > 0 and unchecked > UNCHECKED_WARN_FRACTION * checked
        with self._lock:
            first, self.alarmed = bad and not self.alarmed, bad
        if first:
            logger.warning(
                "answer checking: %d of %d answers in this batch went unchecked and score as wrong (counted in "
                "rewards/errors): %s", unchecked, checked, report.describe(),
            )


class BatchAnalysis:
    """Facts about one batch of completions; each fact is computed on first use."""

    def __init__(
        self, options: AnalysisOptions, prompts: list, completions: list, completion_ids: list | None, columns: dict,
        watch: UncheckedWatch | None = None,
    ):
        self.options = options
        self.watch = watch
        self.prompt_texts = [message_text(prompt) for prompt in prompts]
        raw_texts = [message_text(completion) for completion in completions]
        # A prompt that ends inside `<think>` (R1-Zero's template, R1-Distill's chat template): the
        # completion continues the reasoning, so `...</think> answer` reads as reasoning + answer.
        self.prompt_opened = [prompt_opens_reasoning(prompt, options.chat_opens_reasoning) for prompt in prompts]
        self.texts = [continued_text(text, opened) for text, opened in zip(raw_texts, self.prompt_opened)]
        self.completion_ids = completion_ids
        self.columns = columns
        self.check_failures = 0
        self.missing_golds = 0  # completions whose row has no gold answer (counted once, when correctness is decided)

    def __len__(self) -> int:
        return len(self.texts)

    @cached_property
    def completion_tokens(self) -> list[int]:
        if self.completion_ids is None:
            raise ValueError("length rewards need `completion_ids` (TRL passes them); got none")
        return [len(ids) for ids in self.completion_ids]

    @cached_property
    def answers(self) -> list[str | None]:
        return [extract_answer(text, fallback=self.options.fallback) for text in self.texts]

    @cached_property
    def golds(self) -> list[str | None]:
        """The gold answer of each completion's row; None where the row has none (see `gold_text`)."""
        golds = self.columns.get(self.options.gold_column)
        if golds is None:
            present = sorted(k for k in self.columns if k not in ("trainer_state", "log_metric", "log_extra"))
            raise KeyError(f"no gold answer column {self.options.gold_column!r}; the batch has {present}")
        return [gold_text(gold) for gold in golds]

    @cached_property
    def gold_missing(self) -> list[bool]:
        return [gold is None for gold in self.golds]

    @cached_property
    def cut_off(self) -> list[bool]:
        """Generation stopped at `max_completion_length` without an EOS token (`rewards.layout.hit_length_limit`)."""
        if self.completion_ids is None:
            return [False] * len(self.texts)
        return [hit_length_limit(ids, self.options.max_completion_length, self.options.eos_token_ids) for ids in self.completion_ids]

    @cached_property
    def unfinished(self) -> list[bool]:
        """Cut at the token budget, or reasoning opened (by the prompt or the completion) and never closed."""
        return [cut or reasoning_unclosed(text) for cut, text in zip(self.cut_off, self.texts)]

    @cached_property
    def correct(self) -> list[bool]:
        """The verdict every reward reads: the answer is right and the completion finished.

        An unfinished completion is never paid (unless `grade_unfinished`): a right answer written
        before the budget ran out would make running out of budget cost the policy nothing.
        """
        if self.options.grade_unfinished:
            return self.answer_correct
        return [ok and not unfinished for ok, unfinished in zip(self.answer_correct, self.unfinished)]

    @cached_property
    def truncated_correct(self) -> list[bool]:
        """Unfinished completions whose answer would have been right."""
        return [ok and unfinished for ok, unfinished in zip(self.answer_correct, self.unfinished)]

    @cached_property
    def answer_correct(self) -> list[bool]:
        """Each answer checked against its gold, finished or not; the whole batch at once (repeats checked once, in parallel).

        A completion whose row has no gold is never correct; it is counted in `missing_golds`.
        """
        checked = [answer is not None and gold is not None for answer, gold in zip(self.answers, self.golds)]
        pairs = [(answer, gold) for answer, gold, check in zip(self.answers, self.golds, checked) if check]
        options = self.options
        report = CheckReport()
        verdicts = iter(
            check_answers(pairs, options.timeout_s, options.workers, options.batch_budget_s, options.precision, options.decimal_comma, report)
            if pairs
            else []
        )
        results = []
        for check in checked:
            verdict = next(verdicts) if check else False
            if verdict is None:
                self.check_failures += 1  # overran its bound, crashed, or the batch ran out of time
            results.append(bool(verdict))
        self.check_report = report
        if self.watch is not None:
            self.watch.observe(len(pairs), self.check_failures, report)
        self.missing_golds = sum(self.gold_missing)
        if self.missing_golds:
            warnings.warn(
                f"rows without a gold answer in column {self.options.gold_column!r} (None, NaN or empty) are never "
                "correct and earn no correctness-based reward; they are counted in rewards/errors",
                stacklevel=2,
            )
        return results

    @cached_property
    def reasoning(self) -> list[str]:
        """The reasoning region of each completion as the layout reads it ("" where it is missing)."""
        return [region or "" for region in self._reasoning_regions]

    @cached_property
    def reasoning_missing(self) -> list[bool]:
        """The layout has a reasoning region and the completion lacks it, or left it empty (`<think></think>`).

        Never true in the `boxed` layout: a bare `\boxed{5}` is well-formed, its reasoning just has no words.
        """
        if self.options.layout == "boxed":
            return [False] * len(self.texts)
        return [region is None or not region.strip() for region in self._reasoning_regions]

    @cached_property
    def _reasoning_regions(self) -> list[str | None]:
        return [reasoning_text(text, self.options.layout) for text in self.texts]

    @cached_property
    def question_ids(self) -> list[str]:
        ids = self.columns.get(self.options.id_column)
        if ids is not None:
            return [str(value) for value in ids]
        return [question_id(text) for text in self.prompt_texts]

    @cached_property
    def questions(self) -> list[str]:
        questions = self.columns.get(self.options.question_column)
        return [str(q) for q in questions] if questions is not None else self.prompt_texts


class Analyzer:
    """Hands out the `BatchAnalysis` of a batch, reusing it across the reward functions of a step."""

    def __init__(self, options: AnalysisOptions | None = None, cache_batches: int = 4):
        self.options = options or AnalysisOptions()
        self._cache: OrderedDict[tuple, BatchAnalysis] = OrderedDict()
        self._cache_batches = cache_batches
        self._lock = threading.Lock()
        self.watch = UncheckedWatch()

    def __getstate__(self) -> dict:
        # Picklable for TRL's spawned rollout workers: the cache and lock are per-process.
        return {"options": self.options, "cache_batches": self._cache_batches}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["options"], state["cache_batches"])

    def analyse(self, prompts: list, completions: list, completion_ids: list | None = None, **columns) -> BatchAnalysis:
        key = (
            tuple(message_text(p) for p in prompts),
            tuple(message_text(c) for c in completions),
            tuple((len(ids), ids[-1] if len(ids) else None) for ids in completion_ids) if completion_ids is not None else None,
            *(
                tuple(map(repr, columns.get(column) or ()))  # repr: a gold None is not the string "None"
                for column in (self.options.gold_column, self.options.id_column, self.options.question_column)
            ),
        )
        with self._lock:
            analysis = self._cache.get(key)
            if analysis is None:
                analysis = BatchAnalysis(self.options, prompts, completions, completion_ids, columns, self.watch)
                self._cache[key] = analysis
                if len(self._cache) > self._cache_batches:
                    self._cache.popitem(last=False)
            else:
                self._cache.move_to_end(key)
            analysis.columns = columns  # same batch, fresh per-call callbacks (log_metric)
        return analysis
