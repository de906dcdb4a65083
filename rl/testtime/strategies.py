"""Test-time strategies of `rl eval --strategy`: greedy, sample (pass@k, maj@k), best_of_n and beam, with their token cost.

Every strategy reports the accuracy of the answer it returns and the tokens it generated per
question, the discarded samples and pruned beams included: the cost axis of test-time compute.
Each is declared once, as a `StrategyKind` in `STRATEGY_KINDS` (`register_strategy` adds one): the
CLI's `--strategy` choices and help, the checks of `Strategy.check` and `rl eval`'s dispatch read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rl.errors import ConfigError
from rl.testtime.search import BeamSettings
from rl.testtime.selection import StepScoring, StepVerifier


@dataclass
class StrategyRun:
    """What a strategy works on in one `rl eval`: the rollout context, the request, the decoding, the verifier, the rows."""

    context: Any  # rl.eval.rollout.RolloutContext
    strategy: Strategy
    settings: Any  # rl.eval.generation.EvalSettings
    verifier: StepVerifier | None
    rows: list[dict]


@dataclass(frozen=True)
class StrategyKind:
    """One test-time strategy, declared once.

    Args:
        name: its `--strategy` name.
        help: one line for `rl eval --help`.
        generate: `run -> (generations, tokens generated per question, state)`: the samples it grades
            (`rl.eval.generation.Generations`) and its token cost; `state` goes to `choose`.
        choose: `(run, per_question, state) -> summary entries`: its answer (`answer_accuracy`, and
            `chosen` marks on the graded samples); None keeps the majority vote of the samples (maj@k).
        header: `run -> summary entries` written before the sample statistics; None: the samples'
            decoding, pass@1, pass@k and maj@k (`rl.eval.summary.sample_summary`).
        needs_verifier: takes `--verifier` (an outcome or process verifier checkpoint).
        greedy: decodes greedily (one answer per question).
        one_sample: why `--samples` must stay 1 (None: it sets the number of samples).
    """

    name: str
    help: str
    generate: Callable[[StrategyRun], tuple[list, list[int], Any]]
    choose: Callable[[StrategyRun, list[list[dict]], Any], dict] | None = None
    header: Callable[[StrategyRun], dict] | None = None
    needs_verifier: bool = False
    greedy: bool = False
    one_sample: str | None = None


STRATEGY_KINDS: dict[str, StrategyKind] = {}


def register_strategy(kind: StrategyKind, replace: bool = False) -> StrategyKind:
    """Add a strategy (its name becomes a `--strategy` choice); an existing name needs `replace=True`."""
    if kind.name in STRATEGY_KINDS and STRATEGY_KINDS[kind.name] is not kind and not replace:
        raise ValueError(f"strategy {kind.name!r} is already registered; pass replace=True to replace it")
    STRATEGY_KINDS[kind.name] = kind
    return kind


@dataclass(frozen=True)
class Strategy:
    """How `rl eval` turns generations into one answer per question.

    Args:
        name: a registered strategy (`STRATEGY_KINDS`): `greedy` (one greedy answer), `sample` (K
            samples: pass@k and the majority vote, maj@k), `best_of_n` (N samples, the verifier's
            highest-scored one; also the verifier-weighted vote) or `beam` (step-level beam search
            guided by a process verifier). Default `sample`.
        verifier: a verifier checkpoint (`rl prm train`'s output) for `best_of_n` and `beam`.
        scoring: how a process verifier's step scores are aggregated, and the step separator.
        beam: N, M and the limits of `beam`.
    """

    name: str = "sample"
    verifier: str | None = None
    scoring: StepScoring = field(default_factory=StepScoring)
    beam: BeamSettings = field(default_factory=BeamSettings)

    def __post_init__(self) -> None:
        if self.name not in STRATEGY_KINDS:
            raise ConfigError(f"--strategy: unknown {self.name!r} (choose from {', '.join(STRATEGY_KINDS)})")

    @property
    def kind(self) -> StrategyKind:
        return STRATEGY_KINDS[self.name]

    @property
    def needs_verifier(self) -> bool:
        return self.kind.needs_verifier

    def check(self, settings, verifier: StepVerifier | None) -> None:
        """Reject settings that do not fit the strategy (`settings`: the eval's `EvalSettings`), naming the flag to change."""
        kind = self.kind
        if kind.needs_verifier and verifier is None and self.verifier is None:
            raise ConfigError(f"--strategy {self.name} needs --verifier DIR (a checkpoint of `rl prm train`)")
        if kind.greedy and settings.samples != 1:
            raise ConfigError(f"--strategy {self.name} {kind.one_sample or 'gives one answer per question; drop --samples'}")
        if settings.greedy and not kind.greedy:
            raise ConfigError(f"--greedy decodes one answer per question; it does not fit --strategy {self.name}")
        if kind.one_sample and settings.samples != 1:
            raise ConfigError(f"--strategy {self.name} {kind.one_sample}")


# ---------------------------------------------------------------- the shipped strategies


def sampled(run: StrategyRun) -> tuple[list, list[int], None]:
    """K samples per question from the rollout context's backend; their tokens are the cost."""
    generations = run.context.generate([row["prompt"] for row in run.rows], run.settings)
    return generations, [sum(len(ids) for _, ids in outputs) for outputs in generations], None


def choose_verified(run: StrategyRun, per_question: list[list[dict]], state) -> dict:
    """best_of_n: the verifier's highest-scored sample and the verifier-weighted vote."""
    import rewards
    from rl.testtime.selection import completion_scores

    prompts = [row["prompt"] for row, graded in zip(run.rows, per_question) for _ in graded]
    completions = [sample["completion"] for graded in per_question for sample in graded]
    scores = completion_scores(run.verifier, prompts, completions, run.strategy.scoring)
    chosen = choose_best_of_n(per_question, scores, rewards.answers_match)
    return {"answer_accuracy": chosen["best_of_n_accuracy"], **chosen}


def searched(run: StrategyRun) -> tuple[list, list[int], list]:
    """beam: the completed beams of a verifier-guided search; every generated token (pruned beams too) is the cost."""
    generations, results = generate_beam(run.context, [row["prompt"] for row in run.rows], run.verifier, run.strategy, run.settings)
    return generations, [result.generated_tokens for result in results], results


def beam_header(run: StrategyRun) -> dict:
    strategy, settings = run.strategy, run.settings
    return {"beams": strategy.beam.beams, "beam_width": strategy.beam.beam_width, "aggregation": strategy.scoring.aggregation,
            "decoding": f"beam search, steps sampled (temperature {settings.temperature})"}  # fmt: skip


def choose_beam(run: StrategyRun, per_question: list[list[dict]], results: list) -> dict:
    return beam_summary(per_question, results, run.strategy)


register_strategy(StrategyKind("greedy", "one greedy answer per question", sampled, greedy=True))
register_strategy(StrategyKind("sample", "K = --samples samples: pass@K and the majority vote, maj@K (the default)", sampled))
register_strategy(StrategyKind("best_of_n", "N = --samples samples, the verifier's pick and the verifier-weighted vote", sampled,
                               choose=choose_verified, needs_verifier=True))  # fmt: skip
register_strategy(StrategyKind("beam", "step-level beam search with a process verifier", searched, choose=choose_beam, header=beam_header,
                               needs_verifier=True, one_sample="sets its budget with --beams (N), not --samples"))  # fmt: skip
STRATEGIES = tuple(STRATEGY_KINDS)  # the shipped names (a registered strategy is in STRATEGY_KINDS)


def generate_beam(context, prompts: list, verifier, strategy: Strategy, settings) -> tuple[list, list]:
    """Verifier-guided step-level beam search (`rl.testtime.search.beam_search`) with HF `generate`, with a progress bar.

    Returns (per prompt, its completed beams as (text, token ids), best first; the `SearchResult`s).
    Sampled at `settings.temperature`, `settings.batch_size` prompts' beams per generate call, within
    the rollout context's budget (`context.max_completion_length`).
    """
    from tqdm.auto import tqdm

    from rewards.layout import eos_token_ids, generation_prompt
    from rl.eval.generation import load_model
    from rl.testtime.search import HFStepGenerator, beam_search

    model, tokenizer = load_model(context.model_path)
    if tokenizer.pad_token is None:  # as TRL does for training
        tokenizer.pad_token = tokenizer.eos_token
    stop_ids = list(eos_token_ids(tokenizer, model.generation_config, include_pad=False))
    texts = [generation_prompt(tokenizer, p, context.chat_template_kwargs) for p in prompts]
    prompt_ids = [tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]
    generator = HFStepGenerator(model, tokenizer, prompt_ids, stop_ids, context.max_completion_length, strategy.scoring.separator_for(verifier),
                                strategy.beam.max_step_tokens, settings.temperature, batch_size=settings.batch_size * strategy.beam.beams)  # fmt: skip
    with tqdm(total=len(texts), desc=f"beam search (N={strategy.beam.beams}, M={strategy.beam.beam_width})", unit="question") as progress:
        results = beam_search(list(prompts), generator, verifier, strategy.beam, strategy.scoring, progress=progress.update)
    generations = [[(generator.decode(beam.token_ids), beam.token_ids) for beam in result.completed] for result in results]
    return generations, results


def beam_summary(per_question: list[list[dict]], results: list, strategy) -> dict:
    """Beam search's answer (each question's best completed beam) and its search statistics; marks `chosen`."""
    from rl.eval.metrics import mean

    for graded, result in zip(per_question, results):
        for sample, beam in zip(graded, result.completed):
            sample.update({"verifier_score": beam.score, "step_scores": beam.step_scores, "chosen": sample["sample"] == 0})
    return {
        "answer_accuracy": mean([bool(graded) and graded[0]["correct"] for graded in per_question]),
        "answer_mean_tokens": mean([graded[0]["tokens"] for graded in per_question if graded]),
        "no_completed_beam_rate": mean([not graded for graded in per_question]),
        "mean_iterations": mean([result.iterations for result in results]),
    }  # fmt: skip


def choose_best_of_n(per_question: list[list[dict]], scores: list[float], same) -> dict:
    """Mark each question's best-of-N sample and the verifier-weighted vote; returns their accuracies.

    `scores` are the verifier's, one per sample in the order of `per_question` (flattened). Each
    sample gets `verifier_score` and `chosen` (the verifier's pick).
    """
    from rl.eval.metrics import mean
    from rl.testtime.selection import best_of_n, weighted_vote

    index, picked, voted = 0, [], []
    for samples in per_question:
        question_scores = scores[index : index + len(samples)]
        index += len(samples)
        for sample, score in zip(samples, question_scores):
            sample["verifier_score"] = score
            sample["chosen"] = False
        if not samples:
            picked.append(False)
            voted.append(False)
            continue
        best = best_of_n(question_scores)
        samples[best]["chosen"] = True
        picked.append(samples[best]["correct"])
        vote = weighted_vote([s["answer"] for s in samples], question_scores, same)
        voted.append(vote is not None and same(vote, samples[0]["gold"]))
    return {"best_of_n_accuracy": mean(picked), "weighted_vote_accuracy": mean(voted)}


def load_strategy_verifier(strategy: Strategy, verifier: StepVerifier | None) -> StepVerifier | None:
    """The verifier object the strategy uses: the one given, else loaded from `strategy.verifier`."""
    if not strategy.needs_verifier or verifier is not None:
        return verifier
    from pathlib import Path

    from rl.testtime.verifiers import load_verifier

    if not Path(strategy.verifier).is_dir():
        raise ConfigError(f"--verifier {strategy.verifier}: not a directory (train one with `python -m rl prm train`)")
    return load_verifier(strategy.verifier)


def budget_curve(per_question: list[list[dict]], ks: list[int], same, scores: list[list[float]] | None = None) -> list[dict]:
    """Accuracy against tokens when only the first k samples of each question had been drawn, for each k in `ks`.

    Per k: `tokens` (mean over questions of the first k samples' tokens: what drawing them cost),
    `majority` (maj@k), and with verifier `scores` (per question, per sample) `best_of_n` (the
    verifier's pick among the k) and `weighted_vote`. One sampled eval gives the whole curve, so every
    k is judged on the same draws.
    """
    from rl.eval.metrics import majority_answer, mean
    from rl.testtime.selection import best_of_n, weighted_vote

    def right(answer, samples) -> bool:
        return answer is not None and same(answer, samples[0]["gold"])

    curve = []
    for k in ks:
        firsts = [samples[:k] for samples in per_question if samples]
        point = {"k": k, "tokens": mean([sum(s["tokens"] for s in first) for first in firsts]),
                 "majority": mean([right(majority_answer([s["answer"] for s in first], same), first) for first in firsts])}  # fmt: skip
        if scores is not None:
            firsts_scores = [question_scores[:k] for samples, question_scores in zip(per_question, scores) if samples]
            point["best_of_n"] = mean([first[best_of_n(s)]["correct"] for first, s in zip(firsts, firsts_scores)])
            point["weighted_vote"] = mean([right(weighted_vote([x["answer"] for x in first], s, same), first) for first, s in zip(firsts, firsts_scores)])
        curve.append(point)
    return curve
