"""The demo's base model: the SFT warm start, built by the project's own recipe and shipped with the package.

R1-Zero starts RL from a downloaded pretrained model; the demo's stand-in for it is `tiny:demo`
warm-started on the task's traces (`rl.demo.sft.warm_start`, about 15 minutes on 2 cores). It is
built once, shipped as `rl/demo/base/` (~4 MB) with `recipe.json`, and used by `python -m rl demo`
when the recipe that made it is the current one; `--rebuild-base` builds it from scratch instead.

The recipe is recorded by content, not by name: the tiny model's own recipe digest (architecture
and tokenizer corpus), a hash of every SFT row (so a change to the traces, the task or the prompt
template shows), and the SFT hyperparameters. `tests/rl/demo/test_demo_base.py` fails when the recipe
changes without the shipped checkpoint being rebuilt (`python -m rl demo --rebuild-base --ship-base`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from importlib.resources import files
from pathlib import Path

RECIPE_FILE = "recipe.json"
# What a model directory needs to load; the trainer's own files (optimizer, training_args.bin) stay behind.
BASE_FILES = ("config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
              "special_tokens_map.json", "chat_template.jinja")  # fmt: skip


def shipped_base_dir() -> Path:
    """Where the shipped base lives inside the package (`rl/demo/base/`; found the same way from a wheel)."""
    return Path(str(files("rl.demo") / "base"))


def base_recipe(tiny_model_dir: str, rows: list[dict], sft: dict) -> dict:
    """The recipe of a base: `tiny_model_dir` the `tiny:` model it starts from (its directory name carries
    the digest of its architecture and tokenizer corpus), `rows` the SFT rows (hashed), `sft` the
    hyperparameters of `rl.train.sft.fine_tune` (steps, batch size, learning rate, schedule, seed)."""
    rows_text = json.dumps([{key: row[key] for key in ("prompt", "completion")} for row in rows], sort_keys=True)
    return {"tiny_model": Path(tiny_model_dir).name, "rows": len(rows), "rows_sha1": hashlib.sha1(rows_text.encode()).hexdigest(),
            "sft": dict(sorted(sft.items()))}  # fmt: skip


def recipe_sha(recipe: dict) -> str:
    return hashlib.sha1(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]


def read_shipped() -> dict | None:
    """The shipped base's record (`recipe`, `recipe_sha`, `built_with`, `heldout`), or None if none is shipped."""
    record = shipped_base_dir() / RECIPE_FILE
    if not record.is_file() or not (shipped_base_dir() / "model.safetensors").is_file():
        return None
    return json.loads(record.read_text())


def shipped_base_for(recipe: dict) -> Path | None:
    """The shipped base directory if it was made by exactly `recipe`, else None (the demo then builds one)."""
    record = read_shipped()
    if record is None or record.get("recipe_sha") != recipe_sha(recipe):
        return None
    return shipped_base_dir()


def ship_base(model_dir: Path, recipe: dict, heldout: dict, target: Path | None = None) -> Path:
    """Copy a freshly built base into the package (`target`, default `rl/demo/base/`) with its `recipe.json`.

    `heldout` is the base's held-out greedy eval summary (accuracy, mean tokens, questions), kept so a
    rebuilt base can be compared with the shipped one. For maintainers: run from a checkout, then commit.
    """
    import tokenizers
    import torch
    import transformers
    import trl

    target = Path(target or shipped_base_dir())
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in BASE_FILES:
        if (Path(model_dir) / name).is_file():
            shutil.copy2(Path(model_dir) / name, staging / name)
    record = {
        "recipe_sha": recipe_sha(recipe), "recipe": recipe, "heldout": heldout,
        "built_with": {"torch": torch.__version__, "transformers": transformers.__version__, "trl": trl.__version__,
                       "tokenizers": tokenizers.__version__},
    }  # fmt: skip
    (staging / RECIPE_FILE).write_text(json.dumps(record, indent=2) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target
