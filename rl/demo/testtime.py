"""Test-time compute next to train-time compute: `python -m rl demo --suite test_time` (`make test-time`).

From the demo's warm start (no RL): greedy decoding, the majority vote, best-of-N with a process and
an outcome verifier (trained here from m/n step labels) and verifier-guided beam search at several
budgets, against the demo's R1-Zero and "don't overthink" models decoded greedily, all on the same
held-out questions with the tokens each generated; writes `report.json`, `report.md` and
`test_time_vs_train.png`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from rl.demo.pipeline import RUNS, DemoSettings, Stages, base_model, dump_section, run_config, train_or_finished

logger = logging.getLogger("rl.demo")


@dataclass(frozen=True)
class SuiteSettings:
    """Sizes of the test-time suite (`toy()`: the seconds-long version).

    Args:
        held_out: questions evaluated (the first of the held-out split; the levers suite's 256).
        samples: N of the one sampled eval; maj@k and best-of-k for k = 1, 2, 4, ... N are its first k samples.
        beam_budgets: N of each beam search (candidate steps per question and iteration).
        beam_width: M (at most N): the top N/M beams are kept, each continued M times.
        aggregations: step-score aggregations also searched with at the second budget (`last` is searched at every budget;
            with N/M = 1 kept beam, every candidate shares its history and `product` ranks as `last` does).
        label_limit_test: held-out questions whose steps are labelled m/n for the process verifier's AUC.
        generate_rows: sequences per generate call (prompts x samples, or questions x beams).
        prm_overrides: `--set` overrides of the step-label and verifier config (`configs/demo/prm.yaml`).
    """

    held_out: int = 256
    samples: int = 8
    beam_budgets: tuple[int, ...] = (2, 4, 8)
    beam_width: int = 2
    aggregations: tuple[str, ...] = ("min", "product")
    label_limit_test: int = 16
    generate_rows: int = 128
    # 64 training questions (x 4 solutions x 4 rollouts per step) and 150 steps: about 9 + 6 minutes on 2 cores
    prm_overrides: tuple[str, ...] = ("prm.label.limit=64", "prm.train.max_steps=150")

    @classmethod
    def toy(cls) -> SuiteSettings:
        overrides = ("prm.label.limit=4", "prm.label.samples=2", "prm.label.rollouts=2", "prm.train.max_steps=2", "prm.train.batch_size=4")
        return cls(held_out=4, samples=2, beam_budgets=(2,), beam_width=2, aggregations=("min",), label_limit_test=2, prm_overrides=overrides)


def toy_demo_settings(out_dir: Path, seed: int = 0) -> DemoSettings:
    """The toy suite's demo settings: the shipped warm start (an untrained tiny model's steps all fail, leaving its
    verifiers nothing to tell apart), RL runs of 2 steps of 4 completions."""
    overrides = ["trainer.max_steps=2", "trainer.per_device_train_batch_size=4", "trainer.num_generations=4", "trainer.save_steps=1"]
    return DemoSettings(out_dir=out_dir, seed=seed, overrides=overrides)


def ks_up_to(n: int) -> list[int]:
    """1, 2, 4, ... up to n (n itself included).

    >>> ks_up_to(16), ks_up_to(6)
    ([1, 2, 4, 8, 16], [1, 2, 4, 6])
    """
    ks = [1]
    while ks[-1] * 2 < n:
        ks.append(ks[-1] * 2)
    return ks + ([n] if ks[-1] != n else [])


def prm_config(settings: DemoSettings, suite: SuiteSettings, extra: list[str] = ()):
    """The step-label/verifier config (`configs/demo/prm.yaml`: the R1-Zero preset plus `prm:`), with the demo's overrides."""
    from rl.config import load_config

    overrides = [f"trainer.output_dir={settings.out_dir / 'prm'}", *settings.overrides, *suite.prm_overrides, *extra]
    return load_config(settings.config_dir / "prm.yaml", overrides)


def training_generated_tokens(run_dir: Path) -> int | None:
    """Tokens an RL run generated in training: sum over its steps of the mean completion length x completions per step.

    Completions per step (TRL counts completions in `per_device_train_batch_size`) are read from the run's
    `resolved_trainer_args.yaml`: per-device batch x gradient accumulation x world size.
    """
    import yaml

    from rl.eval.plot import read_metrics

    resolved = yaml.safe_load((run_dir / "resolved_trainer_args.yaml").read_text())
    trainer = resolved["trainer"]
    per_step = trainer["per_device_train_batch_size"] * trainer.get("gradient_accumulation_steps", 1) * resolved["machine"]["world_size"]
    lengths = [row["completions/mean_length"] for row in read_metrics(run_dir) if row.get("completions/mean_length") is not None]
    return round(sum(lengths) * per_step) if lengths else None


def demo_model(settings: DemoSettings, demo_dir: Path | None, run: str, origin: dict) -> Path | None:
    """The demo's finished `run` model when it was trained from this base with this suite's settings, else None."""
    from rl.config import dump, load_config

    if demo_dir is None or Path(demo_dir).resolve() == settings.out_dir.resolve():
        return None
    run_dir = Path(demo_dir) / run
    report_marker = Path(demo_dir) / "stage-report.json"
    if not ((run_dir / "finished.json").is_file() and (run_dir / "config.yaml").is_file() and report_marker.is_file()):
        return None
    made_from = json.loads(report_marker.read_text()).get("settings", {}).get("inputs", {}).get("base")
    trained = load_config(run_dir / "config.yaml")
    ours = run_config(dataclasses.replace(settings, out_dir=Path(demo_dir)), run, trained.model.name_or_path)
    if made_from != origin["recipe_sha"] or dump(trained) != dump(ours):
        logger.info("%s: made with other settings or another base; training %s here", run_dir, run)
        return None
    return run_dir


def plain(value: object) -> object:
    """`value` as it reads back from JSON (tuples become lists), so a stage marker compares equal on the next run."""
    return json.loads(json.dumps(value))


def run_test_time(settings: DemoSettings, suite: SuiteSettings | None = None, demo_dir: Path | None = Path("runs/demo")) -> dict:
    """Every stage of the suite (each resumable; the demo's RL models reused when they match); returns the report."""
    from rl.config import dump
    from rl.config.trainer_args import trainer_value
    from rl.eval.generation import EvalSettings
    from rl.testtime.evaluate import evaluate
    from rl.testtime.prm_labels import label
    from rl.testtime.prm_train import train_verifier
    from rl.testtime.search import BeamSettings
    from rl.testtime.selection import StepScoring
    from rl.testtime.strategies import Strategy

    suite = suite or SuiteSettings()
    out = settings.out_dir
    out.mkdir(parents=True, exist_ok=True)
    base = run_config(settings, RUNS[0])
    ablation_budget = sorted(suite.beam_budgets)[min(1, len(suite.beam_budgets) - 1)]
    searches = [(n, "last") for n in suite.beam_budgets] + [(ablation_budget, how) for how in suite.aggregations]
    # stages: [warm start], 2 label sets, 2 verifiers, AUC, greedy, sample, best-of-N scoring, searches, [RL runs], RL evals, report
    stages = Stages(settings, total=1 + 2 + 2 + 1 + 3 + len(searches) + 2 * len(RUNS) + 1)
    sft_model, origin = base_model(settings, stages, base)
    reused = {run: demo_model(settings, demo_dir, run, origin) for run in RUNS}
    stages.total -= (origin["source"] == "shipped") + sum(model is not None for model in reused.values())
    temperature = float(trainer_value(base.algorithm, base.trainer, "temperature"))

    # Step labels and the two verifiers (both start from the warm start's weights).
    labels = {}
    for split, extra in (("train", []), ("test", ["prm.label.split=test", f"prm.label.limit={suite.label_limit_test}"])):
        config = prm_config(settings, suite, extra)
        target = out / "prm" / f"labels-{split}"
        labels[split] = stages.run(f"prm-labels-{split}", lambda config=config, target=target: label(config, sft_model, target),
                                   plain({"model": sft_model, "prm": dump_section(config, "prm"), "data": dump_section(config, "data")}))  # fmt: skip
    verifier_dirs = {kind: out / "prm" / f"{kind}-verifier" for kind in ("process", "outcome")}
    for kind, target in verifier_dirs.items():
        config = prm_config(settings, suite, [f"prm.train.kind={kind}"])
        stages.run(f"verifier-{kind}", lambda config=config, target=target: train_verifier(config, labels["train"]["labels_file"], sft_model, target),
                   plain({"model": sft_model, "labels": labels["train"]["labels_file"], "prm": dump_section(config, "prm")}))  # fmt: skip

    def auc() -> dict:
        from rl.testtime.prm_labels import read_labels
        from rl.testtime.verifiers import load_verifier, step_auc

        rows = read_labels(labels["test"]["labels_file"])
        return {kind: step_auc(load_verifier(path), rows) for kind, path in verifier_dirs.items()}

    aucs = stages.run("verifier-auc", auc, plain({"labels": labels["test"]["labels_file"], "verifiers": [str(p) for p in verifier_dirs.values()]}))

    # The test-time strategies from the warm start, then the RL models, all on the same held-out questions.
    rows_per_call = suite.generate_rows
    greedy = EvalSettings(samples=1, greedy=True, limit=suite.held_out, batch_size=rows_per_call)
    sampled = EvalSettings(samples=suite.samples, temperature=temperature, limit=suite.held_out, batch_size=max(1, rows_per_call // suite.samples),
                           seed=settings.seed)  # fmt: skip
    evals = out / "eval"

    def eval_stage(name: str, model: str, eval_settings: EvalSettings, strategy: Strategy, verifier_kind: str | None = None) -> dict:
        def work() -> dict:
            verifier = None
            if verifier_kind is not None:
                from rl.testtime.verifiers import load_verifier

                verifier = load_verifier(verifier_dirs[verifier_kind])
            return evaluate(base, model, eval_settings, evals / name, strategy, verifier)

        inputs = {"model": model, "settings": asdict(eval_settings), "strategy": asdict(strategy), "verifier": verifier_kind}
        return stages.run(f"eval-{name}", work, plain(inputs))

    eval_stage("greedy", sft_model, greedy, Strategy("greedy"))
    eval_stage("sample", sft_model, sampled, Strategy("sample"))
    curves = stages.run("best-of-n", lambda: selection_curves(base, suite, evals / "sample", verifier_dirs), plain({"suite": asdict(suite)}))
    for beams, aggregation in searches:
        width = min(suite.beam_width, beams)
        beam_settings = dataclasses.replace(sampled, samples=1, batch_size=max(1, rows_per_call // beams))
        strategy = Strategy("beam", scoring=StepScoring(aggregation), beam=BeamSettings(beams=beams, beam_width=width))
        eval_stage(f"beam-{beams}-{aggregation}", sft_model, beam_settings, strategy, "process")
    rl_models = {}
    for run in RUNS:
        config = run_config(settings, run, sft_model)
        trained = reused[run] or stages.run(f"rl-{run}", lambda config=config: {"model": str(train_or_finished(config))}, dump(config))["model"]
        rl_models[run] = str(trained)
        eval_stage(run, rl_models[run], greedy, Strategy("greedy"))

    def report() -> dict:
        return write_report(settings, suite, stages, curves, searches, aucs, labels, rl_models, sft_model, origin)

    return stages.run("report", report, plain({"base": origin["recipe_sha"], "suite": asdict(suite), "rl_models": rl_models}))


def selection_curves(base, suite: SuiteSettings, sample_dir: Path, verifier_dirs: dict[str, Path]) -> dict:
    """maj@k, and best-of-k and the weighted vote with each verifier, from the one sampled eval (k = 1, 2, 4, ...)."""
    import rewards
    from rl.data.rows import load_rows
    from rl.testtime.selection import completion_scores
    from rl.testtime.strategies import budget_curve
    from rl.testtime.verifiers import load_verifier

    _, per_question = read_eval(sample_dir)
    rows = load_rows(base.data.model_copy(update={"limit": suite.held_out}), base.prompt, split="test")
    prompts = {row["id"]: row["prompt"] for row in rows}
    ks = ks_up_to(suite.samples)
    majority = budget_curve(per_question, ks, rewards.answers_match)
    curves = {"majority vote (maj@k)": [(p["tokens"], p["majority"], f"k={p['k']}") for p in majority]}
    flat = [sample for samples in per_question for sample in samples]
    for kind, path in verifier_dirs.items():
        scores = completion_scores(load_verifier(path), [prompts[s["id"]] for s in flat], [s["completion"] for s in flat])
        per_question_scores, index = [], 0
        for samples in per_question:
            per_question_scores.append(scores[index : index + len(samples)])
            index += len(samples)
        curve = budget_curve(per_question, ks, rewards.answers_match, per_question_scores)
        curves[f"best-of-k, {kind} verifier"] = [(p["tokens"], p["best_of_n"], f"k={p['k']}") for p in curve]
        curves[f"verifier-weighted vote, {kind} verifier"] = [(p["tokens"], p["weighted_vote"], f"k={p['k']}") for p in curve]
    return curves


def read_eval(eval_dir: Path) -> tuple[dict, list[list[dict]]]:
    """An eval's summary and its samples grouped by question (in sample order)."""
    summary = json.loads((eval_dir / "summary.json").read_text())
    by_question: dict[str, list[dict]] = {}
    for line in (eval_dir / "samples.jsonl").read_text().splitlines():
        if line.strip():
            sample = json.loads(line)
            by_question.setdefault(sample["id"], []).append(sample)
    return summary, [sorted(samples, key=lambda s: s["sample"]) for samples in by_question.values()]


def write_report(settings: DemoSettings, suite: SuiteSettings, stages: Stages, curves: dict, searches: list, aucs: dict, labels: dict,
                 rl_models: dict, sft_model: str, origin: dict) -> dict:  # fmt: skip
    """The comparison at equal tokens, `report.json`, `report.md` and `test_time_vs_train.png`, from the stages' outputs."""
    from rl.demo.report import test_time_markdown
    from rl.eval.plot import plot_test_time_vs_train

    out, evals = settings.out_dir, settings.out_dir / "eval"
    greedy = json.loads((evals / "greedy" / "summary.json").read_text())
    sampled = json.loads((evals / "sample" / "summary.json").read_text())
    curves = {name: [tuple(point) for point in points] for name, points in curves.items()}
    beams = {}
    for n, aggregation in searches:
        summary = json.loads((evals / f"beam-{n}-{aggregation}" / "summary.json").read_text())
        beams[f"N={n}, {aggregation}"] = {key: summary[key] for key in ("beams", "beam_width", "aggregation", "answer_accuracy",
                                                                        "generated_tokens_per_question", "answer_mean_tokens", "mean_iterations")}  # fmt: skip
    last = [b for b in beams.values() if b["aggregation"] == "last"]
    curves["beam search, process verifier"] = [(b["generated_tokens_per_question"], b["answer_accuracy"], f"N={b['beams']}") for b in last]
    points = {"warm start, greedy": (greedy["generated_tokens_per_question"], greedy["answer_accuracy"])}
    rl_runs = {}
    for run, model in rl_models.items():
        summary = json.loads((evals / run / "summary.json").read_text())
        rl_runs[run] = {"model": model, "accuracy": summary["answer_accuracy"], "tokens_per_question": summary["generated_tokens_per_question"],
                        "training_generated_tokens": training_generated_tokens(Path(model))}  # fmt: skip
    label_tokens = labels["train"]["solution_tokens"] + labels["train"]["rollout_tokens"]
    report = {
        "seed": settings.seed, "held_out_questions": greedy["questions"], "base": {"model": sft_model, **origin_summary(origin)},
        "sampling": sampled["decoding"], "curves": curves, "beam": beams, "points": points, "rl": rl_runs, "verifier_auc": aucs,
        "step_labels": {split: {k: v for k, v in summary.items() if k != "labels_file"} for split, summary in labels.items()},
        "verifier_label_tokens": label_tokens,
        "beam_vs_majority": [equal_token_comparison(b, curves["majority vote (maj@k)"]) for b in last],
        "suite": asdict(suite), "stage_wall_seconds": stages.wall_seconds, "total_wall_seconds": round(sum(stages.wall_seconds.values()), 1),
    }  # fmt: skip
    title = f"Test-time vs train-time compute, demo task ({greedy['questions']} held-out questions, seed {settings.seed})"
    plot_test_time_vs_train(curves, points, rl_runs, label_tokens, out / "test_time_vs_train.png", title)
    (out / "report.json").write_text(json.dumps(report, indent=2))
    (out / "report.md").write_text(test_time_markdown(report))
    return report


def origin_summary(origin: dict) -> dict:
    return {"source": origin.get("source"), "recipe_sha": origin.get("recipe_sha")}


def equal_token_comparison(beam: dict, majority: list[tuple[float, float, str]]) -> dict:
    """Beam search against the majority vote at the same tokens per question (maj@k interpolated linearly between its k).

    `points`: beam's accuracy minus the interpolated maj@k's, in accuracy points; None beyond the
    vote's largest k (`beyond_majority_curve`).
    """
    tokens, accuracy = beam["generated_tokens_per_question"], beam["answer_accuracy"]
    xs, ys = [p[0] for p in majority], [p[1] for p in majority]
    result = {"beams": beam["beams"], "tokens": tokens, "beam_accuracy": accuracy, "majority_at_same_tokens": None, "points": None,
              "beyond_majority_curve": tokens > xs[-1]}  # fmt: skip
    if tokens <= xs[0]:
        at_tokens = ys[0]
    elif tokens > xs[-1]:
        return result
    else:
        right = next(i for i, x in enumerate(xs) if x >= tokens)
        share = (tokens - xs[right - 1]) / (xs[right] - xs[right - 1])
        at_tokens = ys[right - 1] + share * (ys[right] - ys[right - 1])
    result.update({"majority_at_same_tokens": round(at_tokens, 4), "points": round(100 * (accuracy - at_tokens), 2)})
    return result
