"""Step-level beam search guided by a process verifier, with the token cost of every rollout it generated.

Beam search as in Snell et al. 2024 (arXiv:2408.03314) and HF search-and-learn (`sal.search.beam_search`):
N candidate next steps per question and iteration, the top N/M kept by the verifier, each expanded M times.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from rl.errors import ConfigError
from rl.testtime.selection import StepScoring, StepVerifier, aggregate_scores

logger = logging.getLogger("rl.search")


@dataclass(frozen=True)
class BeamSettings:
    """Settings of the verifier-guided step-level beam search.

    Args:
        beams: N, the candidate steps generated per question and iteration (the budget; default 4).
        beam_width: M, the continuations of each kept beam: the top N/M candidates survive each step (default 4).
        max_step_tokens: most tokens generated for one step (a step that reaches it ends there; default 32).
        max_iterations: most steps per solution; beams still open after it are dropped (default 40).
    """

    beams: int = 4
    beam_width: int = 4
    max_step_tokens: int = 32
    max_iterations: int = 40

    def __post_init__(self) -> None:
        if self.beams < 1 or self.beam_width < 1:
            raise ConfigError(f"--beams and --beam-width must be >= 1, got {self.beams} and {self.beam_width}")
        if self.beams % self.beam_width:
            raise ConfigError(f"--beams ({self.beams}) must be a multiple of --beam-width ({self.beam_width}): N/M beams are kept")
        if self.max_step_tokens < 1 or self.max_iterations < 1:
            raise ConfigError(f"max_step_tokens and max_iterations must be >= 1, got {self.max_step_tokens} and {self.max_iterations}")

    @property
    def kept(self) -> int:
        """Beams kept after each step: N / M."""
        return self.beams // self.beam_width


@dataclass
class Step:
    """One generated step: its token ids (the separator or EOS included) and whether the completion ended."""

    token_ids: list[int]
    finished: bool


class StepGenerator(Protocol):
    """Samples the next step of many partial completions at once (`HFStepGenerator`, or a scripted policy in tests)."""

    def __call__(self, prompt_indices: list[int], completions: list[list[int]]) -> list[Step]: ...

    def decode(self, token_ids: list[int]) -> str: ...


@dataclass
class Beam:
    """A partial (or, once `finished`, complete) solution of question `prompt_index`."""

    prompt_index: int
    token_ids: list[int] = field(default_factory=list)
    step_scores: list[float] = field(default_factory=list)
    score: float = 0.0
    finished: bool = False


@dataclass
class SearchResult:
    """What beam search returns for one question.

    `completed`: every finished beam (best first), `generated_tokens`: all tokens generated for the
    question, the pruned candidates' included (the cost axis); `best`: the chosen solution.
    """

    completed: list[Beam]
    generated_tokens: int
    iterations: int

    @property
    def best(self) -> Beam | None:
        return self.completed[0] if self.completed else None


def beam_search(prompts: list[str], generate: StepGenerator, verifier: StepVerifier, settings: BeamSettings, scoring: StepScoring | None = None,
                split: Callable[[str, str], list[str]] | None = None, progress: Callable[[int], None] | None = None) -> list[SearchResult]:  # fmt: skip
    """Verifier-guided step-level beam search over all `prompts` at once.

    Each iteration, for every open question: its N open beams each get one sampled next step
    (`generate`, batched across questions); the process verifier scores every extended beam's steps
    (split from the text with `split` at `scoring`'s separator, as its training steps were) and
    `scoring.aggregation` ranks them; finished beams are set aside; of the rest the top N/M (distinct texts) are kept, and
    copied M times (cycling through them when fewer than N/M are left) so N candidates are expanded
    next. A question stops when N of its beams have finished, none is left open, or after
    `settings.max_iterations` steps. Every generated token is counted, the pruned candidates' too.

    Args:
        prompts: the prompt text of each question (what the verifier scores the steps against).
        generate: samples one step for each (question index, completion token ids so far).
        verifier: a process verifier (an outcome verifier has no score for a partial solution).
        settings: N, M and the limits.
        scoring: the aggregation of step scores and the step separator (default `StepScoring()`: `last`, the verifier's separator).
        split: text -> steps (default `rl.testtime.verifiers.split_steps`).
        progress: called with the number of questions that finished in an iteration.

    Returns:
        One `SearchResult` per prompt, in order: its completed beams ranked by aggregated score (the
        first is the answer) and its generated tokens.

    Raises:
        ConfigError: the verifier is not a process verifier.
    """
    if verifier.kind != "process":
        raise ConfigError(f"beam search needs a process verifier (a score after each step); this one is {verifier.kind!r}")
    if split is None:
        from rl.testtime.verifiers import split_steps as split
    scoring = scoring or StepScoring()
    separator = scoring.separator_for(verifier)
    open_beams = {index: [Beam(index) for _ in range(settings.beams)] for index in range(len(prompts))}
    completed: dict[int, list[Beam]] = {index: [] for index in range(len(prompts))}
    generated = [0] * len(prompts)
    iterations = [0] * len(prompts)
    for _ in range(settings.max_iterations):
        if not open_beams:
            break
        candidates = [beam for beams in open_beams.values() for beam in beams]
        steps = generate([beam.prompt_index for beam in candidates], [beam.token_ids for beam in candidates])
        texts = []
        for beam, step in zip(candidates, steps, strict=True):
            beam.token_ids = beam.token_ids + step.token_ids
            beam.finished = step.finished
            generated[beam.prompt_index] += len(step.token_ids)
            texts.append(generate.decode(beam.token_ids))
        step_lists = [split(text, separator) or [text] for text in texts]
        scores = verifier.score_steps([prompts[beam.prompt_index] for beam in candidates], step_lists)
        for beam, step_scores in zip(candidates, scores, strict=True):
            beam.step_scores = list(step_scores)
            beam.score = aggregate_scores(beam.step_scores, scoring.aggregation)
        finished_questions = 0
        for index in list(open_beams):
            iterations[index] += 1
            beams = open_beams[index]
            completed[index] += [beam for beam in beams if beam.finished]
            survivors = select(beams, settings.kept, generate.decode)
            if len(completed[index]) >= settings.beams or not survivors:
                del open_beams[index]
                finished_questions += 1
                continue
            open_beams[index] = [copy_beam(survivors[k % len(survivors)]) for k in range(settings.beams)]
        if progress is not None and finished_questions:
            progress(finished_questions)
    if open_beams:
        logger.info("beam search: %d questions still open after %d iterations; their open beams are dropped", len(open_beams), settings.max_iterations)
        if progress is not None:
            progress(len(open_beams))
    return [SearchResult(sorted(completed[index], key=lambda beam: -beam.score), generated[index], iterations[index])
            for index in range(len(prompts))]  # fmt: skip


def select(beams: list[Beam], kept: int, decode: Callable[[list[int]], str]) -> list[Beam]:
    """The `kept` best open beams by score (ties: the first generated), one per distinct text."""
    by_text: dict[str, Beam] = {}
    for beam in sorted((beam for beam in beams if not beam.finished), key=lambda beam: -beam.score):
        by_text.setdefault(decode(beam.token_ids), beam)
    return list(by_text.values())[:kept]


def copy_beam(beam: Beam) -> Beam:
    return Beam(beam.prompt_index, list(beam.token_ids), list(beam.step_scores), beam.score)


class HFStepGenerator:
    """Samples the next step of many partial completions with one batched HF `generate` call per chunk.

    Generation of each sequence pauses at the step separator (transformers' `stop_strings`) or ends at
    EOS; a completion that reaches `max_new_tokens` in total is finished (graded unfinished). The
    prefix is the prompt's token ids plus the completion's own ids (never re-tokenised text).
    """

    def __init__(self, model, tokenizer, prompt_ids: list[list[int]], stop_ids: list[int], max_new_tokens: int, separator: str,
                 max_step_tokens: int, temperature: float, batch_size: int = 64) -> None:  # fmt: skip
        self.model = model
        self.tokenizer = tokenizer
        self.prompt_ids = prompt_ids
        self.stop_ids = set(stop_ids)
        self.max_new_tokens = max_new_tokens
        self.separator = separator
        self.max_step_tokens = max_step_tokens
        self.temperature = temperature
        self.batch_size = batch_size

    def decode(self, token_ids: list[int]) -> str:
        return self.tokenizer.decode(token_ids, skip_special_tokens=True)

    def __call__(self, prompt_indices: list[int], completions: list[list[int]]) -> list[Step]:
        steps: list[Step] = []
        for start in range(0, len(completions), self.batch_size):
            steps += self.generate_chunk(prompt_indices[start : start + self.batch_size], completions[start : start + self.batch_size])
        return steps

    def generate_chunk(self, prompt_indices: list[int], completions: list[list[int]]) -> list[Step]:
        import torch

        prefixes = [self.prompt_ids[index] + completion for index, completion in zip(prompt_indices, completions)]
        width = max(len(prefix) for prefix in prefixes)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(prefix)) + prefix for prefix in prefixes])
        attention_mask = torch.tensor([[0] * (width - len(prefix)) + [1] * len(prefix) for prefix in prefixes])
        room = [self.max_new_tokens - len(completion) for completion in completions]
        with torch.no_grad():
            output = self.model.generate(
                input_ids=input_ids, attention_mask=attention_mask,
                max_new_tokens=max(1, min(self.max_step_tokens, max(room))),
                do_sample=True, temperature=self.temperature, top_p=None, top_k=None,
                stop_strings=[self.separator], tokenizer=self.tokenizer,
                pad_token_id=pad, eos_token_id=sorted(self.stop_ids),
            )  # fmt: skip
        return [self.cut(row.tolist(), max(1, limit)) for row, limit in zip(output[:, width:], room)]

    def cut(self, ids: list[int], room: int) -> Step:
        """The step in one generated row: up to the separator, or EOS (finished), or the budget (finished).

        What follows the stop in a row is padding of the batch, never counted.
        """
        ids = ids[: min(room, self.max_step_tokens)]
        end = next((position for position, token in enumerate(ids) if token in self.stop_ids), None)
        body = ids if end is None else ids[:end]
        if self.separator in self.decode(body):  # the first token that completes the separator ends the step
            position = next(p for p in range(len(body)) if self.separator in self.decode(body[: p + 1]))
            return Step(ids[: position + 1], finished=position + 1 >= room)
        if end is not None:
            return Step(ids[: end + 1], finished=True)
        return Step(ids, finished=len(ids) >= room)
