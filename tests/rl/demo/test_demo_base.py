"""The shipped demo base: made by the current recipe, loadable, and its recipe sensitive to what builds it."""

import dataclasses
import json

import pytest

from rl.demo.base import base_recipe, read_shipped, recipe_sha, ship_base, shipped_base_dir, shipped_base_for
from rl.demo.pipeline import DemoSettings, run_config, warm_start_recipe, warm_start_rows


@pytest.fixture(scope="module")
def current_recipe(tmp_path_factory):
    settings = DemoSettings(out_dir=tmp_path_factory.mktemp("demo"))
    settings.overrides.append(f"model.cache_dir={tmp_path_factory.mktemp('cache')}")
    base = run_config(settings, "r1_zero")
    tiny_model, rows = warm_start_rows(settings, base)
    return settings, tiny_model, rows, warm_start_recipe(settings, tiny_model, rows)


def test_the_shipped_base_was_made_by_the_current_recipe(current_recipe):
    """Fails when the task, the traces, the template, the tiny model or the SFT settings change without a
    rebuild: run `python -m rl demo --rebuild-base --ship-base` and commit rl/demo/base/."""
    *_, recipe = current_recipe
    record = read_shipped()
    assert record is not None, "no base shipped in rl/demo/base/"
    assert record["recipe"] == recipe, "the demo's base recipe changed: rebuild and ship the base (see the docstring)"
    assert shipped_base_for(recipe) == shipped_base_dir()


def test_the_shipped_base_loads_and_records_its_heldout_accuracy():
    from transformers import AutoModelForCausalLM, AutoTokenizer

    record = read_shipped()
    model = AutoModelForCausalLM.from_pretrained(shipped_base_dir())
    tokenizer = AutoTokenizer.from_pretrained(shipped_base_dir())
    assert sum(p.numel() for p in model.parameters()) > 500_000
    assert "<think>" in tokenizer.get_vocab()
    assert record["heldout"]["questions"] >= 1024 and 0.3 < record["heldout"]["accuracy"] < 0.8
    assert {"torch", "transformers", "trl"} <= set(record["built_with"])


def test_the_recipe_changes_with_anything_that_builds_the_base(current_recipe):
    settings, tiny_model, rows, recipe = current_recipe
    assert warm_start_recipe(dataclasses.replace(settings, sft_steps=799), tiny_model, rows) != recipe
    assert warm_start_recipe(dataclasses.replace(settings, base_seed=1), tiny_model, rows) != recipe
    changed_trace = [{**rows[0], "completion": rows[0]["completion"] + " "}, *rows[1:]]
    assert recipe_sha(warm_start_recipe(settings, tiny_model, changed_trace)) != recipe_sha(recipe)
    assert warm_start_recipe(settings, tiny_model.replace("tiny-demo-", "tiny-demo-x"), rows) != recipe
    # the RL seed is not part of the base: every demo seed starts from the same base
    assert warm_start_recipe(dataclasses.replace(settings, seed=1), tiny_model, rows) == recipe


def test_ship_base_copies_only_the_model_files_with_the_recipe(tmp_path):
    built = tmp_path / "built"
    built.mkdir()
    for name in ("config.json", "model.safetensors", "tokenizer.json", "training_args.bin"):
        (built / name).write_text("x")
    recipe = base_recipe("tiny-demo-1234", [{"prompt": "p", "completion": "c"}], {"max_steps": 1})
    target = ship_base(built, recipe, {"accuracy": 0.5, "mean_tokens": 40.0, "questions": 1024}, target=tmp_path / "base")
    assert sorted(p.name for p in target.iterdir()) == ["config.json", "model.safetensors", "recipe.json", "tokenizer.json"]
    record = json.loads((target / "recipe.json").read_text())
    assert record["recipe_sha"] == recipe_sha(recipe) and record["heldout"]["accuracy"] == 0.5
