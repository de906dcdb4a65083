"""`rl plot`: length curves of runs overlaid (also mid-training), accuracy-by-length bars, bad input."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rl.errors import UserError
from rl.eval.plot import curves_figure, ema, plot_length_accuracy, plot_runs, read_metrics

ROOT = Path(__file__).resolve().parents[3]


def write_run(directory: Path, steps: int, length_scale: float, partial_last_line: bool = False) -> Path:
    directory.mkdir(parents=True)
    lines = []
    for step in range(1, steps + 1):
        lines.append(json.dumps({
            "step": step, "completions/mean_length": 100 * length_scale, "completions/clipped_ratio": 0.1,
            "length/correct_mean": 90 * length_scale - step, "length/incorrect_mean": 120 * length_scale,
            "accuracy": 0.5 + step / 100, "length/ref_mean": 95.0, "length/penalised_frac": 0.3,
            "rewards/correctness/mean": 0.5, "rewards/format/mean": 0.9,
        }))  # fmt: skip
    lines.append(json.dumps({"step": steps, "train_runtime": 12.0}))  # the trainer's summary line is not a point
    text = "\n".join(lines) + "\n"
    if partial_last_line:
        text += '{"step": 99, "accur'  # a line being written right now
    (directory / "metrics.jsonl").write_text(text)
    return directory


def test_runs_overlaid_with_one_smoothed_and_one_raw_line_per_run_and_metric(tmp_path):
    runs = {"r1_zero": read_metrics(write_run(tmp_path / "a", 10, 1.0)), "short": read_metrics(write_run(tmp_path / "b", 10, 0.5))}
    figure = curves_figure(runs)
    titles = [axis.get_title() for axis in figure.axes if axis.get_title()]
    assert titles == ["Completion length by correctness", "Completion length (all) and clipping",
                      "Accuracy (training samples)", "Length reference and penalised share", "Reward components (mean)"]  # fmt: skip
    first = figure.axes[0]
    # 2 runs x 2 metrics (correct, incorrect) x (raw + smoothed)
    assert len(first.get_lines()) == 8
    assert sorted(first.get_legend().get_texts()[i].get_text() for i in range(4)) == [
        "r1_zero correct", "r1_zero incorrect", "short correct", "short incorrect"]
    rewards_axis = next(a for a in figure.axes if a.get_title() == "Reward components (mean)")
    assert len(rewards_axis.get_lines()) == 2 * 2 * 2


def test_plot_files_in_each_format_and_while_a_run_is_still_writing(tmp_path):
    live = write_run(tmp_path / "live", 5, 1.0, partial_last_line=True)
    assert len(read_metrics(live)) == 5
    for suffix in ("png", "svg", "pdf"):
        out = plot_runs([live], tmp_path / f"curves.{suffix}")
        assert out.stat().st_size > 1000


def test_ema_is_bias_corrected_and_skips_gaps():
    assert ema([2.0, 2.0, 2.0], 0.9) == pytest.approx([2.0, 2.0, 2.0])
    smoothed = ema([0.0, float("nan"), 10.0], 0.5)
    assert smoothed[0] == 0.0 and smoothed[2] == pytest.approx(10 * 0.5 / 0.75)


def test_accuracy_by_length_bars(tmp_path):
    summary = tmp_path / "eval" / "summary.json"
    summary.parent.mkdir()
    buckets = [{"quintile": q, "min_tokens": q * 10, "max_tokens": q * 10 + 9, "samples": 4, "accuracy": 1 - q / 5} for q in range(1, 6)]
    summary.write_text(json.dumps({"accuracy_by_length_quintile": buckets}))
    out = plot_length_accuracy([summary], tmp_path / "bars.png")
    assert out.stat().st_size > 1000


def test_missing_metrics_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no metrics.jsonl"):
        read_metrics(tmp_path)
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text(json.dumps({"step": 1, "loss": 0.1}) + "\n")
    with pytest.raises(UserError, match="none of the metrics"):
        plot_runs([run], tmp_path / "x.png")


def test_cli_plots_runs_and_rejects_bad_paths(tmp_path):
    run = write_run(tmp_path / "run", 4, 1.0)
    ok = subprocess.run([sys.executable, "-m", "rl", "plot", str(run), "-o", str(tmp_path / "c.png")], capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert (tmp_path / "c.png").is_file()
    bad = subprocess.run([sys.executable, "-m", "rl", "plot", str(tmp_path / "nope")], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "not found" in bad.stderr


def test_held_out_eval_during_training_gets_its_own_unsmoothed_panels(tmp_path):
    run = write_run(tmp_path / "run", 6, 1.0)
    evals = [{"step": step, "eval/accuracy": 0.2 + step / 10, "eval/mean_tokens": 40.0 - step, "eval/mean_tokens_correct": 30.0,
              "eval/mean_tokens_incorrect": 50.0} for step in (0, 3, 6)]  # fmt: skip
    with (run / "metrics.jsonl").open("a") as handle:
        handle.write("".join(json.dumps(row) + "\n" for row in evals))
    figure = curves_figure({"run": read_metrics(run)}, smoothing=0.9)
    accuracy = next(a for a in figure.axes if a.get_title() == "Held-out accuracy (eval during training)")
    tokens = next(a for a in figure.axes if a.get_title() == "Held-out mean tokens (eval during training)")
    [line] = accuracy.get_lines()  # one line per run, the points themselves: no smoothed copy
    assert list(line.get_xdata()) == [0, 3, 6] and list(line.get_ydata()) == pytest.approx([0.2, 0.5, 0.8])
    assert sorted(t.get_text() for t in tokens.get_legend().get_texts()) == ["run all", "run correct", "run incorrect"]
