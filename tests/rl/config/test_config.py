import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rl.config import load_config
from rl.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]


def write(tmp_path: Path, data: dict, name: str = "run.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


BASE = {"model": {"name_or_path": "tiny:test"}, "rewards": {"correctness": {"weight": 1.0}}, "trainer": {"output_dir": "runs/x"}}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rewards": {"lenght": {"weight": 0.5}}}, "rewards.lenght: unknown reward; did you mean 'length'?"),
        ({"modle": {}}, "unknown key modle; did you mean 'model'?"),
        ({"data": {"sorce": "x.jsonl"}}, "unknown key data.sorce; did you mean 'source'?"),
        ({"model": {"lora": {"rank": 8}}}, "unknown key model.lora.rank"),
        ({"data": {"limit": "many"}}, "data.limit: Input should be a valid integer"),
        ({"algorithm": "ppo"}, "algorithm: unknown algorithm 'ppo'"),
        ({"trainer": {"learning_rat": 1e-5}}, "unknown key trainer.learning_rat; did you mean 'learning_rate'?"),
        ({"trainer": {"num_generations": 1}}, "trainer: GRPO requires at least 2 generations per prompt"),
        ({"prompt": {"template": "no placeholder"}}, "prompt.template: unknown template"),
        ({"rewards": {"length": {"refrence": "group"}}}, "rewards.length.refrence: unknown parameter; did you mean 'reference'?"),
        ({"eval_during_training": {"every_steps": 0}}, "eval_during_training.every_steps: Input should be greater than 0"),
        ({"eval_during_training": {"limit": 8}}, "missing required key eval_during_training.every_steps"),
        ({"eval_during_training": {"every_steps": 5, "limt": 8}}, "unknown key eval_during_training.limt; did you mean 'limit'?"),
        ({"eval_during_training": {"every_steps": 5, "samples": 4}}, "eval_during_training.samples is 4 but greedy decoding gives one answer"),
        ({"eval_during_training": {"every_steps": 5, "limit": 0}}, "eval_during_training.limit: Input should be greater than 0"),
    ],
)
def test_bad_config_names_the_key(tmp_path, change, message):
    data = {**BASE, **change}
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, data))
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="config file not found: .*nope.yaml"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_extends_merges_and_set_overrides_are_typed(tmp_path):
    write(tmp_path, {**BASE, "trainer": {"output_dir": "runs/base", "learning_rate": 1e-5, "max_steps": 3}}, "base.yaml")
    child = write(tmp_path, {"extends": "base.yaml", "rewards": {"length": {"weight": 0.5}}, "trainer": {"output_dir": "runs/child"}})
    config = load_config(child, ["trainer.max_steps=7", "rewards.length.cap=0.5", "trainer.log_completions=true"])
    assert config.trainer["max_steps"] == 7 and config.trainer["learning_rate"] == 1e-5
    assert config.trainer["output_dir"] == "runs/child" and config.trainer["log_completions"] is True
    assert config.rewards == {"correctness": {"weight": 1.0}, "length": {"weight": 0.5, "cap": 0.5}}
    with pytest.raises(ConfigError, match="unknown key trainer.max_step; did you mean 'max_steps'"):
        load_config(child, ["trainer.max_step=7"])
    with pytest.raises(ConfigError, match="expected KEY.PATH=VALUE"):
        load_config(child, ["trainer.max_steps"])


def test_exponent_floats_are_numbers_in_files_and_overrides(tmp_path):
    # PyYAML alone reads `2e-4` as a string, which TRL then rejects mid-run.
    path = tmp_path / "run.yaml"
    path.write_text("model: {name_or_path: 'tiny:test'}\nrewards: {correctness: {weight: 1.0}}\n"
                    "trainer: {output_dir: runs/x, learning_rate: 3e-6}\n")  # fmt: skip
    assert load_config(path).trainer["learning_rate"] == 3e-6
    assert load_config(path, ["trainer.learning_rate=2e-4"]).trainer["learning_rate"] == 2e-4
    assert load_config(path, ["trainer.run_name=1e5x"]).trainer["run_name"] == "1e5x"
    with pytest.raises(ConfigError, match="trainer.learning_rate: expected a number, got 'fast'"):
        load_config(path, ["trainer.learning_rate=fast"])


def test_extends_cycle_is_reported(tmp_path):
    write(tmp_path, {"extends": "b.yaml"}, "a.yaml")
    write(tmp_path, {"extends": "a.yaml"}, "b.yaml")
    with pytest.raises(ConfigError, match="cycle"):
        load_config(tmp_path / "a.yaml")


@pytest.mark.parametrize("preset", sorted((ROOT / "configs").rglob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_preset_validates(preset):
    config = load_config(preset)
    assert config.rewards


def test_gpu_presets_differ_only_in_rewards_and_output_dir():
    a = load_config(ROOT / "configs" / "r1_zero.yaml").model_dump()
    b = load_config(ROOT / "configs" / "dont_overthink.yaml").model_dump()
    for section in ("model", "data", "prompt", "algorithm", "logging"):
        assert a[section] == b[section]
    assert {k: v for k, v in a["trainer"].items() if k != "output_dir"} == {k: v for k, v in b["trainer"].items() if k != "output_dir"}
    assert set(b["rewards"]) - set(a["rewards"]) == {"length"}


def test_cli_reports_one_line_and_exit_code_2(tmp_path):
    path = write(tmp_path, {**BASE, "rewards": {"lenght": {"weight": 0.5}}})
    result = subprocess.run([sys.executable, "-m", "rl", "train", "--config", str(path)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "rewards.lenght" in result.stderr and "length" in result.stderr
    assert "Traceback" not in result.stderr


def test_batch_geometry_that_fits_several_gpus_is_not_refused_at_load(tmp_path):
    # 4 completions per device cannot hold a group of 8 on one process, but can on 2+ GPUs:
    # the config loads, and `rl submit` / the trainer check the geometry for the real world size.
    config = load_config(write(tmp_path, {**BASE, "trainer": {"output_dir": "x", "num_generations": 8, "per_device_train_batch_size": 4}}))
    assert config.trainer["per_device_train_batch_size"] == 4


@pytest.mark.parametrize("preset", ["shorten_r1_distill", "shorten_qwen3"])
def test_reasoning_model_presets_grade_with_their_layout(preset):
    config = load_config(preset)
    assert config.answer_checking["layout"] == "think_boxed"
    assert config.prompt.template == "boxed_chat" and config.data.answer_format == "boxed"
    assert set(config.rewards) == {"correctness", "length"}
    assert 4096 <= config.trainer["max_completion_length"] <= 16384


def test_the_r1_distill_preset_fails_only_at_the_model_download_offline(tmp_path):
    # bf16 off: this CPU cannot run it, which would be the first error here; HF_HUB_OFFLINE is set by conftest.
    result = subprocess.run(
        [sys.executable, "-m", "rl", "train", "--config", "shorten_r1_distill", "--set", "trainer.bf16=false",
         "--set", f"trainer.output_dir={tmp_path / 'run'}"],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    assert errors[0].startswith("error: model.name_or_path: cannot load the tokenizer of deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B")
