"""The one boundary with TRL: config loading leaves the config as written, the machine's defaults are recorded apart,
`rl submit` checks the geometry of the config's own algorithm, renamed keys name their new spelling."""

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

import rl.config.trainer_args as trainer_args_module
from rl.config import dump, load_config, validate
from rl.config.trainer_args import batch_geometry, completion_budget, machine_defaults, resolved_fields, trainer_value
from rl.errors import ConfigError, LaunchError
from rl.train.launch import LaunchRequest, plan_launch

ROOT = Path(__file__).resolve().parents[3]
GPU_PRESET = ROOT / "configs" / "r1_zero.yaml"
SMOKE = ROOT / "configs" / "demo" / "smoke.yaml"


def write(tmp_path: Path, data: dict, name: str = "run.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def test_loading_leaves_the_trainer_section_as_written(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    written = yaml.safe_load(SMOKE.read_text())
    data = copy.deepcopy(written)
    config = validate(data)
    assert data == written  # the input is not touched either
    assert config.trainer == written["trainer"]  # no bf16, no multi-process wiring, no project defaults written back
    assert config.model_dump() == validate(copy.deepcopy(written)).model_dump()


def test_the_saved_config_reloads_the_same_on_another_machine_type(monkeypatch, tmp_path):
    from rl.config import read_yaml

    user_file = read_yaml(GPU_PRESET)
    del user_file["trainer"]["bf16"]  # left to the machine
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    on_cpu = load_config(write(tmp_path, user_file, "user.yaml"))
    saved = tmp_path / "config.yaml"
    saved.write_text(dump(on_cpu))
    assert "bf16" not in yaml.safe_load(saved.read_text())["trainer"]
    cpu_fields = resolved_fields(on_cpu.trainer)

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "set_device", lambda device: None)  # transformers binds cuda:0; there is none to bind
    on_gpu = load_config(saved)
    assert on_gpu.model_dump() == on_cpu.model_dump()
    # What differs is only what each machine fills in, recorded apart from the config.
    assert cpu_fields["bf16"] is False and "bf16" not in resolved_fields(on_gpu.trainer)
    assert machine_defaults(on_gpu.trainer) == {}


def test_multi_process_cpu_wiring_is_a_machine_default_not_config(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    config = load_config(SMOKE)
    assert "use_cpu" not in config.trainer
    assert machine_defaults(config.trainer) == {"bf16": False}
    monkeypatch.setenv("LOCAL_RANK", "0")  # one of several launched processes
    monkeypatch.delenv("ACCELERATE_USE_DEEPSPEED", raising=False)
    assert machine_defaults(config.trainer) == {"bf16": False, "use_cpu": True}
    monkeypatch.setenv("ACCELERATE_USE_DEEPSPEED", "true")
    assert machine_defaults(config.trainer) == {"bf16": False, "ddp_backend": "gloo"}


def test_a_trainer_value_enters_trl_through_one_builder(monkeypatch):
    built = []
    original = trainer_args_module.trainer_args
    monkeypatch.setattr(trainer_args_module, "trainer_args", lambda *a, **k: built.append(k) or original(*a, **k))
    config = load_config(SMOKE, ["trainer.learning_rate=3e-5"])
    assert built == [{"hardware_neutral": True}]  # loading checks once, hardware-neutral; `rl train` builds the real one
    assert config.trainer["learning_rate"] == 3e-5
    args = original(config.algorithm, config.trainer)
    assert args.learning_rate == 3e-5


def test_the_completion_budget_is_the_trainers_or_trls_default():
    assert completion_budget("grpo", {"max_completion_length": 64}) == 64
    assert completion_budget("grpo", {}) == trainer_value("grpo", {}, "max_completion_length") == 512
    assert trainer_value("rloo", {}, "num_generations") == 2 and trainer_value("grpo", {}, "num_generations") == 8


def test_submit_checks_rloo_geometry_with_rloos_defaults(tmp_path):
    # One completion per GPU on 2 GPUs: whole groups for RLOO (2 generations by default), not for GRPO (8).
    trainer = {"output_dir": str(tmp_path / "run"), "per_device_train_batch_size": 1, "gradient_accumulation_steps": 1}
    base = {"model": {"name_or_path": "tiny:test"}, "trainer": trainer}
    rloo = write(tmp_path, {**base, "algorithm": "rloo"}, "rloo.yaml")
    plan = plan_launch(load_config(rloo), str(rloo), [], LaunchRequest(gpus_per_node=2))
    assert plan.train_processes == 2
    assert batch_geometry("rloo", trainer, 2).problem() is None
    with pytest.raises(LaunchError, match="num_generations=2"):
        plan_launch(load_config(rloo), str(rloo), [], LaunchRequest(gpus_per_node=3))
    grpo = write(tmp_path, {**base, "algorithm": "grpo", "trainer": {**trainer, "num_generations": 2}}, "grpo.yaml")
    plan_launch(load_config(grpo), str(grpo), [], LaunchRequest(gpus_per_node=2))
    assert "num_generations=8" in batch_geometry("grpo", trainer, 2).problem()


def test_submit_takes_the_vllm_mode_default_from_trl(tmp_path):
    path = write(tmp_path, {"model": {"name_or_path": "tiny:test"}, "trainer": {"output_dir": "x", "use_vllm": True}})
    plan = plan_launch(load_config(path), str(path), [], LaunchRequest(gpus_per_node=8))
    assert plan.vllm_mode == "colocate"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"rewards": {"correctness": {}, "cosine_length": {"max_len": 100}}},
         "rewards.cosine_length.max_len: renamed to rewards.cosine_length.max_completion_length"),
        ({"rewards": {"correctness": {}, "overlong": {"max_completion_len": 100}}},
         "rewards.overlong.max_completion_len: renamed to rewards.overlong.max_completion_length"),
        ({"rewards": {"correctness": {}, "length_target": {"target": 100}}},
         "rewards.length_target.target: renamed to rewards.length_target.target_tokens"),
        ({"rewards": {"correctness": {}, "length_target": {"max_tokens": 100}}},
         "rewards.length_target.max_tokens: renamed to rewards.length_target.max_completion_length"),
        ({"answer_checking": {"answer_column": "gold"}}, "answer_checking.answer_column: renamed to answer_checking.gold_column"),
    ],
)  # fmt: skip
def test_renamed_keys_fail_in_one_line_naming_the_new_key(tmp_path, section, message):
    path = write(tmp_path, {"model": {"name_or_path": "tiny:test"}, "trainer": {"output_dir": "x"}, **section})
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value) == f"{path}: {message}"


def test_a_renamed_key_exits_2_from_the_cli(tmp_path):
    path = write(tmp_path, {"rewards": {"correctness": {}, "cosine_length": {"max_len": 100}}})
    result = subprocess.run([sys.executable, "-m", "rl", "train", "--config", str(path)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "renamed to rewards.cosine_length.max_completion_length" in errors[0]


def test_eval_generates_with_the_training_budget(monkeypatch, tmp_path):
    import rl.data.models as models_module
    import rl.eval.rollout as rollout_module
    from rl.eval.generation import EvalSettings
    from rl.testtime.evaluate import evaluate

    budgets, caches = [], []

    def fake_generate(model_path, prompts, settings, max_new_tokens, chat_template_kwargs=None, **generation):
        budgets.append(max_new_tokens)
        caches.append(generation.get("cache_implementation"))
        return [[("<answer>1</answer>", [5, 6, 0])] for _ in prompts]

    monkeypatch.setattr(rollout_module, "generate_hf", fake_generate)
    monkeypatch.setattr(rollout_module, "use_vllm", lambda: False)
    monkeypatch.setattr(models_module, "resolve_model", lambda settings: "unused")
    monkeypatch.setattr(models_module, "generation_checking", lambda path, checking, budget, *rest: dict(checking))
    settings = EvalSettings(samples=1, greedy=True, limit=2)
    evaluate(load_config(SMOKE), "tiny:test", settings, tmp_path / "a")
    evaluate(load_config(SMOKE, ["trainer.max_completion_length=null"]), "tiny:test", settings, tmp_path / "b")
    evaluate(load_config(SMOKE), "tiny:test", EvalSettings(samples=1, greedy=True, limit=2, max_new_tokens=7), tmp_path / "c")
    assert budgets == [32, 512, 7]  # the smoke preset's budget, TRL's default when unset, the flag
    evaluate(load_config(SMOKE, ["trainer.cache_implementation=static"]), "tiny:test", settings, tmp_path / "d")
    assert caches == [None, None, None, "static"]  # held-out answers are decoded with the rollouts' KV cache


def test_activation_checkpointing_follows_the_trainer_fields_then_trl():
    from rl.config.trainer_args import activation_checkpointing

    assert activation_checkpointing({}) is True  # TRL's default
    assert activation_checkpointing({"activation_checkpointing": False}) is False
    assert activation_checkpointing({"gradient_checkpointing": False}) is False  # the deprecated alias still counts
    assert activation_checkpointing({"activation_checkpointing": True, "gradient_checkpointing": False}) is True


def test_the_demo_speed_settings_leave_the_answers_unchanged():
    """The demo's CPU settings (static KV cache, no activation checkpointing) are speed only: same answers, same gradients."""
    from rl.config.prompts import R1_ZERO
    from rl.eval.generation import EvalSettings, generate_with_model, load_model

    model, tokenizer = load_model(str(ROOT / "rl" / "demo" / "base"))
    prompts = [R1_ZERO.replace("{question}", f"{a} + {b * 7} - {a * b % 5}") for a in range(6) for b in range(3)]
    for settings in (EvalSettings(greedy=True, batch_size=6), EvalSettings(samples=2, temperature=0.6, batch_size=3)):
        answers = {}
        for cache in (None, "static"):
            torch.manual_seed(0)
            answers[cache] = generate_with_model(model, tokenizer, prompts, settings, 48, progress=False, cache_implementation=cache)
        assert answers[None] == answers["static"]
        assert min(len(ids) for samples in answers[None] for _, ids in samples) > 5  # real answers, prompts padded differently
    ids = tokenizer(prompts[:4], return_tensors="pt", padding=True)["input_ids"]
    model.train()
    grads = {}
    for checkpointing in (True, False):
        model.zero_grad()
        model.activation_checkpointing_enable() if checkpointing else model.activation_checkpointing_disable()
        model(input_ids=ids, labels=ids, use_cache=False).loss.backward()
        grads[checkpointing] = [p.grad.clone() for p in model.parameters() if p.grad is not None]
    assert all(torch.allclose(a, b, atol=1e-7) for a, b in zip(grads[True], grads[False]))
