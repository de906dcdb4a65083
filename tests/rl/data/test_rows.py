import json
from pathlib import Path

import pytest

from rl.config import DataSettings, PromptSettings
from rl.config.prompts import R1_ZERO
from rl.data.rows import gold_answer, load_rows, stable_id
from rl.errors import DataError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_gsm8k_file_gold_answers_and_hash_ids():
    rows = load_rows(DataSettings(source=str(FIXTURES / "gsm8k_style.jsonl")), PromptSettings())
    assert rows["answer"] == ["72", "10", "5000"]
    assert rows["id"][0] == stable_id(rows["question"][0]) and len(set(rows["id"])) == 3
    assert rows["prompt"][0].endswith("Assistant: <think>") and rows["question"][0] in rows["prompt"][0]


def test_math_file_with_column_mapping_and_id_column():
    settings = DataSettings(
        source=str(FIXTURES / "math_style.jsonl"), question_column="problem", answer_column="solution", id_column="unique_id", answer_format="boxed"
    )
    rows = load_rows(settings, PromptSettings(template="boxed_chat", system="Be brief."))
    assert rows["answer"] == [r"\frac{3}{4}", "2"]
    assert rows["id"] == ["test/algebra/1.json", "test/algebra/2.json"]
    assert rows["prompt"][0][0] == {"role": "system", "content": "Be brief."}
    assert "\\boxed{}" in rows["prompt"][0][1]["content"]


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".json"])
def test_other_local_formats(tmp_path, suffix):
    from datasets import Dataset

    dataset = Dataset.from_list([{"q": "What is 1+1?", "a": "#### 2"}, {"q": "What is 2+2?", "a": "#### 4"}])
    path = tmp_path / f"data{suffix}"
    {".parquet": dataset.to_parquet, ".csv": dataset.to_csv, ".json": dataset.to_json}[suffix](str(path))
    rows = load_rows(DataSettings(source=str(path), question_column="q", answer_column="a"), PromptSettings(template="Q: {question}\nA:"))
    assert rows["answer"] == ["2", "4"] and rows["prompt"][0] == "Q: What is 1+1?\nA:"


def test_missing_answer_column_lists_the_columns():
    with pytest.raises(DataError) as error:
        load_rows(DataSettings(source=str(FIXTURES / "math_style.jsonl"), question_column="problem"), PromptSettings())
    assert "data.answer_column: column 'answer' not in" in str(error.value)
    assert "['unique_id', 'problem', 'solution', 'level']" in str(error.value)


def test_missing_file_and_unknown_generated_task(tmp_path):
    with pytest.raises(DataError, match="file not found: .*missing.jsonl"):
        load_rows(DataSettings(source=str(tmp_path / "missing.jsonl")), PromptSettings())
    with pytest.raises(DataError, match="unknown generated task 'chess'"):
        load_rows(DataSettings(source="generated:chess"), PromptSettings())


def test_generated_task_is_deterministic_and_held_out():
    settings = DataSettings(source="generated:arithmetic")
    train = load_rows(settings, PromptSettings(), split="train")
    again = load_rows(settings, PromptSettings(), split="train")
    test = load_rows(settings, PromptSettings(), split="test")
    assert train["id"] == again["id"] and len(train) == 256 and len(test) == 64
    assert not set(train["question"]) & set(test["question"])
    assert R1_ZERO.split("{question}")[0] in train["prompt"][0]


def test_gold_answer_styles():
    assert gold_answer("work\n#### 1,234") == "1234"
    assert gold_answer(r"thus $\boxed{\dfrac{1}{2}}$") == r"\dfrac{1}{2}"
    assert gold_answer(" 42 ", "plain") == "42"
    assert json.loads(json.dumps(gold_answer(7))) == "7"


def test_a_json_file_of_rows_of_one_object_or_of_lines_is_read_and_an_empty_one_has_no_rows(tmp_path):
    from rl.data.rows import local_file_rows

    rows = [{"question": "1+1?", "answer": "2"}, {"question": "2+2?", "answer": "4"}]
    (tmp_path / "rows.json").write_text(json.dumps(rows, indent=2))
    (tmp_path / "object.json").write_text(json.dumps(rows[0], indent=2))  # pretty-printed: not one object per line
    (tmp_path / "lines.json").write_text("".join(json.dumps(row) + "\n" for row in rows))
    (tmp_path / "empty.json").write_text("[]")
    assert [local_file_rows(tmp_path / name) for name in ("rows.json", "object.json", "lines.json", "empty.json")] == [2, 1, 2, 0]
    for name, answers in (("rows.json", ["2", "4"]), ("object.json", ["2"])):
        assert list(load_rows(DataSettings(source=str(tmp_path / name)), PromptSettings())["answer"]) == answers
    with pytest.raises(DataError, match="empty.json has no rows"):
        load_rows(DataSettings(source=str(tmp_path / "empty.json")), PromptSettings())
