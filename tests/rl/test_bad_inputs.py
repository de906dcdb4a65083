"""Every bad input a user can give `rl train` / `rl eval` is one line on stderr, exit 2, before a model loads."""

import json
import logging
import warnings
from pathlib import Path

import pytest
import yaml

from rl.cli import main
from rl.config import DataSettings, PromptSettings, load_config
from rl.data.rows import load_rows
from rl.errors import ConfigError, DataError
from rl.train.callbacks import restore_reward_state

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "configs" / "demo" / "smoke.yaml"


def run_cli(capsys, args: list[str]) -> tuple[int, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert code == 2, err
    assert "Traceback" not in err
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize(
    ("override", "fragments"),
    [
        ("trainer.num_generations=3", ("trainer:", "divisible by num_generations (3)")),
        ("trainer.max_steps=2.5", ("trainer.max_steps: expected an integer", "2.5")),
        ("trainer.bf16=yes_please", ("trainer.bf16: expected true or false", "yes_please")),
        ("trainer.report_to=tensorbord", ("trainer.report_to: unknown backend 'tensorbord'", "did you mean 'tensorboard'")),
        ("trainer.report_to=tensorboard", ("trainer.report_to: tensorboard is not installed here",)),
    ],
)
def test_late_trl_errors_are_one_line_before_any_model_loads(capsys, tmp_path, monkeypatch, override, fragments):
    if override.endswith("=tensorboard"):
        from transformers.integrations import get_available_reporting_integrations

        if "tensorboard" in get_available_reporting_integrations():
            pytest.skip("tensorboard is installed here")
    import rl.data.models

    def no_model_loading(*args, **kwargs):
        raise AssertionError("a model was resolved before the config error")

    monkeypatch.setattr(rl.data.models, "resolve_model", no_model_loading)
    code, err = run_cli(capsys, ["train", "--config", str(SMOKE), "--set", f"trainer.output_dir={tmp_path / 'run'}", "--set", override])
    assert_one_line_error(code, err, *fragments)


def test_eval_of_a_missing_local_model_and_a_zero_temperature_are_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    code, err = run_cli(capsys, ["eval", "--config", str(SMOKE), "--model", "runs/nope"])
    assert_one_line_error(code, err, "--model: local model not found: runs/nope")
    code, err = run_cli(capsys, ["eval", "--config", str(SMOKE), "--model", "tiny:test", "--temperature", "0"])
    assert_one_line_error(code, err, "--temperature must be > 0", "--greedy")


def test_an_empty_config_file_is_an_error(capsys, tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("\n# nothing here\n")
    code, err = run_cli(capsys, ["train", "--config", str(empty)])
    assert_one_line_error(code, err, "empty.yaml: the config file is empty")


def test_a_negative_weight_on_a_penalty_warns_once(tmp_path):
    config = yaml.safe_load(SMOKE.read_text())
    config["rewards"]["length"]["weight"] = -0.5
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_config(path)
    messages = [str(w.message) for w in caught if "negative" in str(w.message)]
    assert len(messages) == 1
    assert "rewards.length.weight is negative (-0.5)" in messages[0] and "penalty into a bonus" in messages[0]


def test_the_weight_warning_is_not_repeated_when_the_stack_is_built_for_training():
    import rewards

    spec = {"correctness": {"weight": 0.1}, "format": {"weight": 1.0}}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rewards.build(spec, warn=False)
    assert not caught
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rewards.build(spec)
    assert len(caught) == 1 and "incorrect completion" in str(caught[0].message)


def test_log_level_from_the_config_is_applied(tmp_path):
    from rl.train.train import apply_log_level

    config = load_config(SMOKE, ["logging.log_level=warning"])
    apply_log_level(config.logging.log_level)
    assert logging.getLogger("rl").getEffectiveLevel() == logging.WARNING
    apply_log_level("info")
    assert logging.getLogger("rl").getEffectiveLevel() == logging.INFO


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_rows_without_a_gold_answer_are_skipped_and_counted_or_rejected(tmp_path, caplog):
    path = write_jsonl(tmp_path / "data.jsonl", [
        {"question": "1+1?", "answer": "2"}, {"question": "2+2?", "answer": None}, {"question": "3+3?", "answer": "  "},
        {"question": "4+4?", "answer": "8"},
    ])  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="rl.data"):
        rows = load_rows(DataSettings(source=str(path)), PromptSettings())
    assert list(rows["answer"]) == ["2", "8"]
    assert "skipped 2 of 4 rows with a null or empty 'answer'" in caplog.text
    with pytest.raises(DataError, match=r"2 row\(s\) .* have no 'answer' \(first: row 2\)"):
        load_rows(DataSettings(source=str(path), missing_answer="error"), PromptSettings())


def test_prompts_longer_than_the_limit_are_dropped_with_a_count(tmp_path, caplog):
    from rl.config import ModelSettings
    from rl.data.models import resolve_model

    model = resolve_model(ModelSettings(name_or_path="tiny:test", cache_dir=str(tmp_path / "cache")))
    path = write_jsonl(tmp_path / "data.jsonl", [{"question": "1+1?", "answer": "2"}, {"question": "x " * 50_000, "answer": "3"}])
    with caplog.at_level(logging.WARNING, logger="rl.data"):
        rows = load_rows(DataSettings(source=str(path)), PromptSettings(), tokenizer_path=model, max_completion_length=32)
    assert list(rows["answer"]) == ["2"]
    assert "dropped 1 of 2 rows whose prompt is longer than 992 tokens" in caplog.text  # context 1024 - 32
    with pytest.raises(DataError, match="no usable rows"):  # every prompt of the r1_zero template is longer than 5 tokens
        load_rows(DataSettings(source=str(path), max_prompt_tokens=5, limit=1), PromptSettings(), tokenizer_path=model)


def test_a_non_utf8_file_names_file_and_line(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_bytes(b'{"question": "a", "answer": "1"}\n{"question": "caf\xe9", "answer": "2"}\n')
    with pytest.raises(DataError, match=r"data.jsonl: line 2 is not UTF-8"):
        load_rows(DataSettings(source=str(path)), PromptSettings())


def test_a_checkpoint_without_reward_state_warns_what_restarts(tmp_path, caplog):
    import rewards
    from rewards.base import stateful_rewards

    functions, _ = rewards.build({"correctness": {"weight": 1.0}, "length": {"weight": 0.5}})
    with caplog.at_level(logging.WARNING, logger="rl.callbacks"):
        restored = restore_reward_state(stateful_rewards(functions), tmp_path)
    assert restored == []
    assert "has no saved state for reward 'length'" in caplog.text and "restarts from empty state" in caplog.text


def test_resume_with_overwrite_is_a_usage_error(tmp_path):
    from rl.train.train import train

    with pytest.raises(ConfigError, match="--resume and --overwrite"):
        train(load_config(SMOKE, [f"trainer.output_dir={tmp_path / 'run'}"]), resume=True, overwrite=True)


def files_under(root: Path) -> set[Path]:
    return set(root.rglob("*"))


def train_cli_writes_nothing(capsys, tmp_path: Path, config: Path, *overrides: str) -> tuple[int, str]:
    """`rl train` with the run and model cache under tmp_path; asserts it wrote no file there."""
    run_overrides = [f"trainer.output_dir={tmp_path / 'run'}", f"model.cache_dir={tmp_path / 'cache'}", *overrides]
    before = files_under(tmp_path)
    code, err = run_cli(capsys, ["train", "--config", str(config), *[a for o in run_overrides for a in ("--set", o)]])
    assert files_under(tmp_path) == before, "a bad input wrote files"
    return code, err


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("trainer.per_device_train_batch_size=-4", "trainer.per_device_train_batch_size must be > 0, got -4"),
        ("trainer.per_device_train_batch_size=0", "trainer.per_device_train_batch_size must be > 0, got 0"),
        ("trainer.max_completion_length=-5", "trainer.max_completion_length must be > 0, got -5"),
        ("trainer.num_generations=0", "trainer.num_generations must be > 0, got 0"),  # a ZeroDivisionError inside TRL
    ],
)
def test_numbers_trl_takes_at_any_sign_are_one_line(capsys, tmp_path, override, fragment):
    code, err = train_cli_writes_nothing(capsys, tmp_path, SMOKE, override)
    assert_one_line_error(code, err, fragment)


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("empty.jsonl", "", "empty.jsonl has no rows"),
        ("blank.jsonl", "\n  \n\n", "blank.jsonl has no rows"),
        ("empty.csv", "", "empty.csv has no rows"),
        ("header.csv", "question,answer\n", "header.csv has no rows"),
        ("bad.jsonl", '{"question": "1+1?", "answer": "2"}\n{"question": "2+2?", "answer": \n', "bad.jsonl: line 2 is not valid JSON"),
        ("list.jsonl", '{"question": "1+1?", "answer": "2"}\n[1, 2]\n', "list.jsonl: line 2 is a JSON list, not an object"),
    ],
)
def test_data_files_with_no_rows_or_a_bad_line_are_one_line(capsys, tmp_path, name, content, fragment):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / name).write_text(content)
    code, err = train_cli_writes_nothing(capsys, tmp_path, SMOKE, f"data.source={inputs / name}")
    assert_one_line_error(code, err, "data.source:", fragment)


def test_an_output_dir_that_is_a_file_is_one_line(capsys, tmp_path):
    (tmp_path / "taken").write_text("not a directory")
    code, err = train_cli_writes_nothing(capsys, tmp_path, SMOKE, f"trainer.output_dir={tmp_path / 'taken'}")
    assert_one_line_error(code, err, f"trainer.output_dir {tmp_path / 'taken'} is a file, not a directory")
    code, err = train_cli_writes_nothing(capsys, tmp_path, SMOKE, f"trainer.output_dir={tmp_path / 'taken' / 'run'}")
    assert_one_line_error(code, err, "is a file, not a directory")


def test_an_output_dir_that_cannot_be_written_is_one_line(capsys, tmp_path):
    import os

    if os.geteuid() == 0:  # root writes through permission bits; /proc/sys is read-only even for root
        target = Path("/proc/sys/lengthrl-test/run")
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        target = locked / "run"
    code, err = train_cli_writes_nothing(capsys, tmp_path, SMOKE, f"trainer.output_dir={target}")
    assert_one_line_error(code, err, f"trainer.output_dir {target}: cannot write in")
    assert not target.exists()


def test_a_yaml_syntax_error_keeps_its_line_and_column(capsys, tmp_path):
    config = tmp_path / "broken.yaml"
    config.write_text("model:\n  name_or_path: tiny:test\ntrainer: {max_steps: 2\n")
    code, err = train_cli_writes_nothing(capsys, tmp_path, config)
    assert_one_line_error(code, err, "broken.yaml: not valid YAML: line 4, column 1:", "expected ',' or '}'")


def test_extends_of_a_missing_file_names_the_config_that_extends_it(capsys, tmp_path):
    config = tmp_path / "child.yaml"
    config.write_text("extends: parent.yaml\ntrainer: {max_steps: 2}\n")
    code, err = train_cli_writes_nothing(capsys, tmp_path, config)
    assert_one_line_error(code, err, f"{config}: extends: 'parent.yaml': config file not found", str(tmp_path / "parent.yaml"))


def test_first_line_of_an_empty_message_is_the_error_type():
    from rl.errors import first_line

    assert first_line(IndexError()) == "IndexError"
    assert first_line(ValueError("\n\nsecond line")) == "second line"
