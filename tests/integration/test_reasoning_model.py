"""A reasoning model as the starting point, at tiny scale: a chat template that opens `<think>`, boxed answers.

`tiny:think` carries a chat template that ends the generation prompt with `<think>\\n`, as
DeepSeek-R1-Distill's does. A few SFT steps teach it one well-formed answer (`...</think>` then a
`\\boxed{}`); GRPO with the `shorten_r1_distill` preset's settings on conversational data must then
pay it for format and correctness, which it cannot unless the rewards know that the template opened
the reasoning, read the think_boxed layout and see that the completions finished.
"""

import json
import logging
from pathlib import Path

import pytest

from rl.config import load_config
from rl.config.prompts import render_prompt
from rl.data.models import build_tiny_model
from rl.train.sft import fine_tune
from rl.train.train import train

pytestmark = pytest.mark.integration
QUESTIONS = ["What is 2 + 3?", "What is 1 + 4?", "What is 4 + 1?", "What is 3 + 2?", "What is 0 + 5?", "What is 5 + 0?",
             "What is 6 - 1?", "What is 7 - 2?"]  # fmt: skip
ANSWER = "I add them to get 5.\n</think>\n\nSo the answer is \\boxed{5}."  # the model continues inside <think>


def math_style_data(path: Path) -> Path:
    path.write_text("".join(json.dumps({"problem": q, "solution": "Adding, we get $\\boxed{5}$."}) + "\n" for q in QUESTIONS))
    return path


def cpu_overrides(tmp_path: Path, model: str, data: Path, **trainer) -> list[str]:
    settings = {"output_dir": str(tmp_path / "run"), "bf16": False, "use_vllm": False, "gradient_checkpointing": False,
                "max_steps": 2, "per_device_train_batch_size": 4, "gradient_accumulation_steps": 1, "num_generations": 4,
                "max_completion_length": 40, "temperature": 0.6, "logging_steps": 1, "save_steps": 100, **trainer}  # fmt: skip
    return [f"model.name_or_path={model}", "model.dtype=float32", f"model.cache_dir={tmp_path / 'cache'}",
            f"data.source={data}", "data.eval_split=null", *(f"trainer.{key}={value}" for key, value in settings.items())]  # fmt: skip


def read_metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]


def test_grpo_on_a_model_whose_chat_template_opens_think_pays_well_formed_answers(tmp_path):
    from transformers import AutoTokenizer

    base = build_tiny_model("think", tmp_path / "cache")
    tokenizer = AutoTokenizer.from_pretrained(base)
    chats = [render_prompt("boxed_chat", q) for q in QUESTIONS]  # the preset's prompts, as message lists
    rendered = [tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True) for chat in chats]
    assert all(text.endswith("<think>\n") for text in rendered)
    warm = fine_tune(str(base), [{"prompt": p, "completion": ANSWER} for p in rendered], tmp_path / "sft", max_steps=80, seed=0,
                     batch_size=8, learning_rate=1e-2)  # fmt: skip

    config = load_config("shorten_r1_distill", [*cpu_overrides(tmp_path, str(warm), math_style_data(tmp_path / "math.jsonl")),
                                                "rewards.format={weight: 0.2}"])  # fmt: skip
    assert config.prompt.template == "boxed_chat" and config.answer_checking["layout"] == "think_boxed"
    run = train(config)
    steps = [row for row in read_metrics(run) if "rewards/correctness/mean" in row]
    assert len(steps) == 2
    assert max(row["rewards/format/mean"] for row in steps) > 0
    assert max(row["rewards/correctness/mean"] for row in steps) > 0
    assert all("completions/truncated_correct_frac" in row and row["rewards/errors"] == 0 for row in steps)


def test_a_budget_that_cuts_every_completion_warns_once_naming_the_key(tmp_path, caplog):
    config = load_config("demo/smoke", [f"model.cache_dir={tmp_path / 'cache'}", f"trainer.output_dir={tmp_path / 'run'}",
                                        "trainer.max_completion_length=2", "trainer.max_steps=11", "trainer.save_steps=100",
                                        "trainer.num_generations=2", "trainer.per_device_train_batch_size=2"])  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="rl.callbacks"):
        run = train(config)
    clipped = [row["completions/clipped_ratio"] for row in read_metrics(run) if "completions/clipped_ratio" in row]
    assert len(clipped) == 11 and min(clipped) > 0.5
    warnings = [r.getMessage() for r in caplog.records if "clipped_ratio" in r.getMessage()]
    assert len(warnings) == 1 and "trainer.max_completion_length (2)" in warnings[0]
