"""The demo report's table and claims from hand-made eval results: a shipped base (not trained here), paired intervals."""

import json

from rl.demo.report import comparisons, markdown


def run(accuracy: float, tokens: float, train_seconds: float | None) -> dict:
    return {
        "accuracy": accuracy, "mean_tokens": tokens, "mean_tokens_correct": tokens, "mean_tokens_incorrect": None,
        "format_rate": 1.0, "questions": 4, "training": {"first_10_steps_mean_tokens": 50.0, "last_10_steps_mean_tokens": 75.0},
        "sampled": {"pass@1": 0.5, "pass@4": 0.75, "maj@4": 0.5, "mean_tokens": tokens, "format_rate": 1.0, "questions": 2},
        "greedy_modes": {"guess": 0.5, "derive": 0.0, "recheck": 0.5, "other": 0.0},
        "wall_seconds": {"train": train_seconds, "eval": 12.0},
    }  # fmt: skip


def write_greedy(out, name: str, correct: list[bool]) -> None:
    (out / "eval" / name / "greedy").mkdir(parents=True)
    rows = [json.dumps({"id": f"q{i}", "correct": flag}) for i, flag in enumerate(correct)]
    (out / "eval" / name / "greedy" / "samples.jsonl").write_text("\n".join(rows) + "\n")


def test_a_shipped_base_has_no_training_time_and_the_claims_come_with_paired_intervals(tmp_path):
    write_greedy(tmp_path, "sft", [False, False, True, False])
    write_greedy(tmp_path, "r1_zero", [True, True, True, False])
    write_greedy(tmp_path, "dont_overthink", [True, True, False, True])
    runs = {"sft": run(0.25, 40.0, None), "r1_zero": run(0.75, 80.0, 300.0), "dont_overthink": run(0.75, 30.0, 280.0)}
    checks = comparisons(runs, tmp_path)
    assert checks["rl_gain_paired"]["points"] == 50.0 and checks["rl_gain_paired"]["second_only"] == 2
    assert checks["dont_overthink_vs_r1_zero_paired"]["points"] == 0.0
    assert checks["dont_overthink_vs_r1_zero_paired"]["ci95_low"] < 0 < checks["dont_overthink_vs_r1_zero_paired"]["ci95_high"]
    report = {"seed": 0, "runs": runs, "comparisons": checks, "total_wall_seconds": 600.0,
              "stage_wall_seconds": {"rl-r1_zero": 300.0, "rl-dont_overthink": 280.0}, "base": {"source": "shipped", "recipe_sha": "abc"}}  # fmt: skip
    text = markdown(report)
    base_row = next(line for line in text.splitlines() if line.startswith("| base"))
    assert base_row.endswith("| - | 12 |")  # not trained here: no training time
    assert "95% interval [" in text and "Base: shipped (recipe abc)" in text and "rl-r1_zero 300 s" in text
