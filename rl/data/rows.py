"""Datasets -> rows `{id, question, answer[, language], prompt}` that TRL and the rewards read.

Sources: a hub dataset (users' machines), a local jsonl/json/parquet/csv file, or the shipped
`generated:arithmetic` task. Gold answers are pulled out of GSM8K (`#### 42`) and MATH
(`\\boxed{}` in a solution) style columns.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from pathlib import Path

from rewards.analysis import question_id
from rewards.extract import last_boxed
from rl.config import DataSettings, PromptSettings
from rl.config.prompts import render_prompt
from rl.data.tasks import ArithmeticTask, WordProblemTask, generate_rows, generate_word_problems
from rl.errors import DataError, first_line

LOCAL_BUILDERS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}
GENERATED_TASKS = ("arithmetic", "word_problems")
_GSM8K_ANSWER = re.compile(r"####\s*(.+?)\s*$", re.DOTALL)
logger = logging.getLogger("rl.data")


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
    """An id that is the same on every machine and run: the reward library's hash of the question text."""
    return "q-" + question_id(question)[:12]


def read_utf8(path: Path) -> str:
    """A text data file must be UTF-8: name the file and line of the first bad byte (datasets names neither)."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise DataError(f"data.source: {path}: line {line} is not UTF-8 ({error.reason} at byte {error.start}); re-encode the file as UTF-8") from None


def json_lines_rows(path: Path, text: str) -> int:
    """Rows of a JSON-lines text; a malformed line is named by its number (datasets gives a character offset)."""
    rows = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(f"data.source: {path}: line {number} is not valid JSON ({error.msg}, column {error.colno})") from None
        if not isinstance(record, dict):
            raise DataError(f"data.source: {path}: line {number} is a JSON {type(record).__name__}, not an object with named columns")
        rows += 1
    return rows


def local_file_rows(path: Path) -> int:
    """Data rows in a local file (header lines and blank lines not counted), or a `DataError` naming what is wrong."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as parquet

        try:
            return parquet.ParquetFile(path).metadata.num_rows
        except Exception as error:  # noqa: BLE001 - pyarrow raises several kinds for a file that is not parquet
            raise DataError(f"data.source: {path}: not a readable parquet file ({first_line(error)})") from None
    text = read_utf8(path)
    if path.suffix == ".csv":
        records = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
        return max(0, len(records) - 1)  # the first is the header
    if path.suffix == ".json":  # a list of rows, one object (datasets reads it as one row, even pretty-printed), or JSON lines
        try:
            whole = json.loads(text)
        except json.JSONDecodeError as error:
            if text.lstrip().startswith("["):
                raise DataError(f"data.source: {path}: not valid JSON at line {error.lineno}, column {error.colno} ({error.msg})") from None
        else:
            if isinstance(whole, list):
                return len(whole)
            if isinstance(whole, dict):
                return 1
    return json_lines_rows(path, text)  # .jsonl, and .json holding one object per line


def check_source(settings: DataSettings) -> None:
    """Fail in one line on a local data file that cannot give a single row, before a model loads or a file is written."""
    source = settings.source
    if source.startswith("generated:"):
        task_name = source.split(":", 1)[1]
        if task_name not in GENERATED_TASKS:
            raise DataError(f"data.source: unknown generated task {task_name!r} (available: {', '.join(GENERATED_TASKS)})")
        return
    path = Path(source)
    if path.suffix not in LOCAL_BUILDERS and not path.exists():
        return  # a hub dataset: checked when it loads
    if not path.is_file():
        raise DataError(f"data.source: file not found: {source}")
    if path.suffix not in LOCAL_BUILDERS:
        raise DataError(f"data.source: {source}: unsupported file type (use {', '.join(LOCAL_BUILDERS)})")
    if local_file_rows(path) == 0:
        raise DataError(f"data.source: {source} has no rows (the file is empty, blank, or a header alone)")


def load_raw(settings: DataSettings, split: str):
    """The source as a `datasets.Dataset`, before column mapping."""
    from datasets import Dataset, load_dataset

    check_source(settings)
    source = settings.source
    if source.startswith("generated:"):
        generated = settings.generated
        size = generated.test_size if split == "test" else generated.train_size
        split_name = "test" if split == "test" else "train"
        try:
            if source == "generated:word_problems":
                return Dataset.from_list(generate_word_problems(size, split_name, WordProblemTask(generated.max_operand), generated.seed))
            task = ArithmeticTask(generated.min_terms, generated.max_terms, generated.max_operand, generated.operators)
            return Dataset.from_list(generate_rows(size, split_name, task, generated.seed))
        except ValueError as error:
            raise DataError(f"data.generated: {error}") from None
    path = Path(source)
    if path.is_file():  # check_source vetted its type and rows
        try:
            return load_dataset(LOCAL_BUILDERS[path.suffix], data_files=str(path), split="train")
        except Exception as error:  # datasets raises many kinds for a malformed file
            raise DataError(f"data.source: cannot read {source}: {first_line(error)}") from None
    try:
        return load_dataset(source, settings.subset, split=split)
    except Exception as error:  # offline, unknown name, bad split: all user-facing
        raise DataError(f"data.source: cannot load hub dataset {source!r} (split {split!r}): {first_line(error)}") from None


def row_budget(prompt: PromptSettings, row_id: str, example: dict) -> int | None:
    """This row's token budget: the config value, its column, or a draw from `budget_range` fixed by the row id."""
    if prompt.budget is not None:
        return prompt.budget
    if prompt.budget_column is not None:
        try:
            return int(example[prompt.budget_column])
        except (TypeError, ValueError):
            raise DataError(f"prompt.budget_column: {example[prompt.budget_column]!r} in row {row_id} is not a whole number") from None
    if prompt.budget_range is not None:
        low, high = prompt.budget_range
        return low + int(question_id(row_id), 16) % (high - low + 1)
    return None


def has_gold(value: object) -> bool:
    return value is not None and str(value).strip() != ""


def prompt_token_limit(settings: DataSettings, model_path: str | None, max_completion_length: int | None) -> int | None:
    """`data.max_prompt_tokens`, or the model's context minus the completion budget when it is unset."""
    if settings.max_prompt_tokens is not None or model_path is None:
        return settings.max_prompt_tokens
    from transformers import AutoConfig

    try:
        context = getattr(AutoConfig.from_pretrained(model_path), "max_position_embeddings", None)
    except Exception:  # noqa: BLE001 - no config readable here: no default limit
        return None
    if not context:
        return None
    return max(1, int(context) - int(max_completion_length or 0))


def drop_long_prompts(rows, model_path: str, limit: int, where: str):
    """Rows whose prompt fits in `limit` tokens (chat prompts with the chat template applied)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)

    def prompt_tokens(batch: dict) -> dict:
        texts = [
            tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True) if isinstance(p, list) else p
            for p in batch["prompt"]
        ]
        return {"fits": [len(ids) <= limit for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]}

    fits = rows.map(prompt_tokens, batched=True, desc="measuring prompts")["fits"]
    dropped = len(fits) - sum(fits)
    if dropped:
        logger.warning("%s: dropped %d of %d rows whose prompt is longer than %d tokens (data.max_prompt_tokens)", where, dropped, len(fits), limit)
        rows = rows.select([i for i, ok in enumerate(fits) if ok])
    return rows


def load_rows(settings: DataSettings, prompt: PromptSettings, split: str | None = None, tokenizer_path: str | None = None,
              max_completion_length: int | None = None):  # fmt: skip
    """Rows ready for TRL: `prompt`, `id`, `question`, `answer` (+ `language` when mapped).

    Rows without a gold answer are skipped with one warning (or rejected, `data.missing_answer: error`):
    a gold of `None` would otherwise be the string "None" and reward `<answer>None</answer>`.
    With `tokenizer_path`, prompts longer than the limit (see `prompt_token_limit`) are dropped, counted.
    """
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
    if prompt.budget_column is not None and prompt.budget_column not in columns:
        raise DataError(f"prompt.budget_column: column {prompt.budget_column!r} not in {where}; it has {columns}")
    id_column = settings.id_column or ("id" if "id" in columns else None)

    golds = dataset[settings.answer_column]
    missing = [index for index, gold in enumerate(golds) if not has_gold(gold)]
    if missing:
        if settings.missing_answer == "error":
            raise DataError(
                f"data.answer_column: {len(missing)} row(s) of {where} have no {settings.answer_column!r} (first: row {missing[0] + 1}); "
                "fix them or set data.missing_answer: skip"
            )
        logger.warning("%s: skipped %d of %d rows with a null or empty %r", where, len(missing), len(golds), settings.answer_column)
        missing_set = set(missing)
        dataset = dataset.select([i for i in range(len(golds)) if i not in missing_set])

    def to_row(example: dict) -> dict:
        question = str(example[settings.question_column])
        row_id = str(example[id_column]) if id_column else stable_id(question)
        budget = row_budget(prompt, row_id, example)
        row = {
            "id": row_id,
            "question": question,
            "answer": gold_answer(example[settings.answer_column], settings.answer_format),
            "prompt": render_prompt(prompt.template, question, prompt.system, budget, prompt.user_message, prompt.examples),
        }
        if budget is not None:
            row["target_tokens"] = budget  # what `length_target` (L1) holds the completion to
        if settings.language_column:
            row["language"] = str(example[settings.language_column])
        return row

    rows = dataset.map(to_row, remove_columns=columns, desc="preparing prompts")
    if tokenizer_path is not None and len(rows):
        limit = prompt_token_limit(settings, tokenizer_path, max_completion_length)
        if limit is not None:
            rows = drop_long_prompts(rows, tokenizer_path, limit, where)
    if len(rows) == 0:
        raise DataError(f"data.source: {where} has no usable rows")
    return rows
