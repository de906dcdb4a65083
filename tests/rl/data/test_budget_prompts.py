"""`{budget}` templates: the budget comes from the config, a column or a per-question range, and reaches `length_target`."""

import json
from pathlib import Path

import pytest
import yaml

import rewards
from rl.config import DataSettings, PromptSettings, load_config
from rl.data.rows import load_rows
from rl.errors import ConfigError, DataError

ROOT = Path(__file__).resolve().parents[3]


def rows_file(tmp_path: Path, rows: list[dict]) -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_budget_from_config_fills_the_template_and_the_target_column(tmp_path):
    data = DataSettings(source=str(rows_file(tmp_path, [{"question": "1+1?", "answer": "2"}])))
    [row] = load_rows(data, PromptSettings(template="r1_zero_budget", budget=300))
    assert "Think for at most 300 tokens." in row["prompt"] and "User: 1+1?" in row["prompt"]
    assert row["target_tokens"] == 300


def test_budget_from_a_column_in_a_custom_template(tmp_path):
    path = rows_file(tmp_path, [{"question": "1+1?", "answer": "2", "limit": 64}, {"question": "2+2?", "answer": "4", "limit": 128}])
    rows = load_rows(DataSettings(source=str(path)), PromptSettings(template="Q: {question} (at most {budget} tokens)", budget_column="limit"))
    assert [r["prompt"] for r in rows] == ["Q: 1+1? (at most 64 tokens)", "Q: 2+2? (at most 128 tokens)"]
    assert list(rows["target_tokens"]) == [64, 128]


def test_budget_range_gives_each_question_its_own_fixed_budget(tmp_path):
    path = rows_file(tmp_path, [{"question": f"{i}+1?", "answer": str(i + 1)} for i in range(20)])
    settings = PromptSettings(template="r1_zero_budget", budget_range=(100, 200))
    first = list(load_rows(DataSettings(source=str(path)), settings)["target_tokens"])
    again = list(load_rows(DataSettings(source=str(path)), settings)["target_tokens"])
    assert first == again and all(100 <= b <= 200 for b in first) and len(set(first)) > 5


def test_a_missing_budget_is_a_one_line_config_error(tmp_path):
    config = {"model": {"name_or_path": "tiny:test"}, "prompt": {"template": "r1_zero_budget"}}
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match=r"prompt: the template asks for a \{budget\}: set prompt.budget"):
        load_config(path)
    with pytest.raises(ConfigError, match="give one budget source"):
        load_config(path, ["prompt.budget=10", "prompt.budget_column=limit"])


def test_a_missing_or_bad_budget_column_is_a_data_error(tmp_path):
    path = rows_file(tmp_path, [{"question": "1+1?", "answer": "2", "limit": "lots"}])
    with pytest.raises(DataError, match="prompt.budget_column: column 'budget' not in"):
        load_rows(DataSettings(source=str(path)), PromptSettings(template="r1_zero_budget", budget_column="budget"))
    with pytest.raises(DataError, match="'lots' in row .* is not a whole number"):
        load_rows(DataSettings(source=str(path)), PromptSettings(template="r1_zero_budget", budget_column="limit"))


def test_the_l1_preset_scores_against_each_rows_budget():
    config = load_config("l1_budget")
    functions, _ = rewards.build(config.rewards, warn=False)
    target = next(f for f in functions if f.__name__ == "length_target")
    scores = target(prompts=["q"] * 2, completions=["a", "b"], completion_ids=[[0] * 300, [0] * 1000], target_tokens=[300, 500])
    assert scores == [0.0, pytest.approx(-0.0002 * 500)]
