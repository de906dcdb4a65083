"""Datasets -> rows `{id, question, answer[, language], prompt}` that TRL and the rewards read.

Sources: a hub dataset (users' machines), a local jsonl/json/parquet/csv file, or the shipped
`generated:arithmetic` task. Gold answers are pulled out of GSM8K (`#### 42`) and MATH
(`\\boxed{}` in a solution) style columns.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from rewards.extract import last_boxed
from rl.config import DataSettings, PromptSettings
from rl.errors import DataError
from rl.prompts import render_prompt
from rl.tasks import ArithmeticTask, generate_rows

LOCAL_BUILDERS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}
GENERATED_TASKS = ("arithmetic",)
_GSM8K_ANSWER = re.compile(r"####\s*(.+?)\s*$", re.DOTALL)


def gold_answer(raw: object, answer_format: str = "auto") -> str:
    r"""The gold final answer inside a dataset's answer/solution text.

    >>> gold_answer("She has 3 + 4 = 7 apples.\n#### 7")
    '7'
    >>> gold_answer(r"So the area is $\boxed{\frac{1}{2}}$.")
    '\\frac{1}{2}'
    >>> gold_answer("1,000", "gsm8k")
    '1000'
    """
    text = str(raw).strip()
    if answer_format in ("auto", "gsm8k") and "####" in text:
        match = _GSM8K_ANSWER.search(text)
        return match.group(1).replace(",", "").strip() if match else text
    if answer_format in ("auto", "boxed"):
        boxed = last_boxed(text)
        if boxed is not None:
            return boxed.strip()
    if answer_format == "gsm8k":
        return text.replace(",", "")
    return text


def stable_id(question: str) -> str:
    """An id that is the same on every machine and run: a hash of the question text."""
    return "q-" + hashlib.sha1(question.encode("utf-8")).hexdigest()[:12]


def load_raw(settings: DataSettings, split: str):
    """The source as a `datasets.Dataset`, before column mapping."""
    from datasets import Dataset, load_dataset

    source = settings.source
    if source.startswith("generated:"):
        task_name = source.split(":", 1)[1]
        if task_name not in GENERATED_TASKS:
            raise DataError(f"data.source: unknown generated task {task_name!r} (available: {', '.join(GENERATED_TASKS)})")
        generated = settings.generated
        task = ArithmeticTask(generated.min_terms, generated.max_terms, generated.max_operand)
        size = generated.test_size if split == "test" else generated.train_size
        try:
            return Dataset.from_list(generate_rows(size, "test" if split == "test" else "train", task, generated.seed))
        except ValueError as error:
            raise DataError(f"data.generated: {error}") from None
    path = Path(source)
    if path.suffix in LOCAL_BUILDERS or path.exists():
        if not path.is_file():
            raise DataError(f"data.source: file not found: {source}")
        builder = LOCAL_BUILDERS.get(path.suffix)
        if builder is None:
            raise DataError(f"data.source: {source}: unsupported file type (use {', '.join(LOCAL_BUILDERS)})")
        try:
            return load_dataset(builder, data_files=str(path), split="train")
        except Exception as error:  # datasets raises many kinds for a malformed file
            raise DataError(f"data.source: cannot read {source}: {str(error).splitlines()[0]}") from None
    try:
        return load_dataset(source, settings.subset, split=split)
    except Exception as error:  # offline, unknown name, bad split: all user-facing
        raise DataError(f"data.source: cannot load hub dataset {source!r} (split {split!r}): {str(error).splitlines()[0]}") from None


def load_rows(settings: DataSettings, prompt: PromptSettings, split: str | None = None):
    """Rows ready for TRL: `prompt`, `id`, `question`, `answer` (+ `language` when mapped)."""
    split = split or settings.split
    dataset = load_raw(settings, split)
    if settings.limit is not None:
        dataset = dataset.select(range(min(settings.limit, len(dataset))))
    columns = list(dataset.column_names)
    where = settings.source
    for key in ("question_column", "answer_column", "id_column", "language_column"):
        column = getattr(settings, key)
        if column is not None and column not in columns:
            raise DataError(f"data.{key}: column {column!r} not in {where}; it has {columns}")
    id_column = settings.id_column or ("id" if "id" in columns else None)

    def to_row(example: dict) -> dict:
        question = str(example[settings.question_column])
        row = {
            "id": str(example[id_column]) if id_column else stable_id(question),
            "question": question,
            "answer": gold_answer(example[settings.answer_column], settings.answer_format),
            "prompt": render_prompt(prompt.template, question, prompt.system),
        }
        if settings.language_column:
            row["language"] = str(example[settings.language_column])
        return row

    rows = dataset.map(to_row, remove_columns=columns, desc="preparing prompts")
    if len(rows) == 0:
        raise DataError(f"data.source: {where} has no rows")
    return rows
