"""The levers suite at toy size: every lever trained/evaluated for real, identical settings, report and both charts."""

import json

import pytest

pytestmark = pytest.mark.integration


def test_toy_levers_suite_writes_report_and_charts(tmp_path, toy_demo):
    out = tmp_path / "levers"
    result = toy_demo(out, "--suite", "levers")
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads((out / "report.json").read_text())
    rl_levers = {"r1_zero", "length", "kimi_length", "cosine_length", "overlong", "length_target"}
    assert rl_levers <= set(report["methods"]) and "warm start" in report["methods"]
    assert "sft_shortest" in report["methods"] or "sft_shortest" in report["skipped"]
    stacks = {name: report["methods"][name]["rewards"] for name in rl_levers}
    assert stacks["r1_zero"] == {"correctness": {"weight": 1.0}, "format": {"weight": 0.2}}
    assert set(stacks["length"]) == {"correctness", "format", "length"} and "correctness" not in stacks["cosine_length"]
    for name in rl_levers:  # each run wrote the config it trained with: identical but for rewards and output_dir
        trained = (out / name / "config.yaml").read_text()
        assert f"output_dir: {out / name}" in trained
    assert report["shared_settings"]["trainer"]["max_steps"] == 2
    for method in report["methods"].values():
        assert 0 <= method["accuracy"] <= 1 and len(method["maj_curve"]) == 2
    for picture in ("pareto.png", "test_time.png"):
        assert (out / picture).stat().st_size > 10_000
