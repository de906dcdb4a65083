"""Chat prompts for instruct models (rl/config/prompts.py): the user turn and few-shot examples as finished turns."""

import pytest

from rl.config import load_config
from rl.config.prompts import render_prompt
from rl.errors import ConfigError

EXAMPLE = {"question": "Mia has 14 cards. Mia buys 27 more. How many?", "answer": "14 + 27 = 41. The answer is \\boxed{41}."}


def test_examples_come_first_as_user_and_assistant_turns_in_the_same_user_format():
    messages = render_prompt("boxed_chat", "Tom has 2 apples and finds 3. How many?", user_message="Q: {question}\nShow the steps.",
                             examples=[EXAMPLE])  # fmt: skip
    assert messages == [
        {"role": "user", "content": "Q: Mia has 14 cards. Mia buys 27 more. How many?\nShow the steps."},
        {"role": "assistant", "content": EXAMPLE["answer"]},
        {"role": "user", "content": "Q: Tom has 2 apples and finds 3. How many?\nShow the steps."},
    ]
    with_system = render_prompt("boxed_chat", "2+3?", system="Be brief.")
    assert with_system[0] == {"role": "system", "content": "Be brief."} and with_system[1]["content"].startswith("2+3?\nPlease reason step by step")


def test_the_real_presets_render_the_example_through_the_models_chat_template(real_model_dir):
    from transformers import AutoTokenizer

    from rl.data.rows import load_rows

    config = load_config("real/r1_zero")
    prompt = load_rows(config.data, config.prompt, split="test")[0]["prompt"]
    assert [turn["role"] for turn in prompt] == ["user", "assistant", "user"]
    text = AutoTokenizer.from_pretrained(real_model_dir[0]).apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    assert "The answer is \\boxed{33}.<|im_end|>" in text and text.endswith("<|im_start|>assistant\n")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["prompt.template=r1_zero", 'prompt.examples=[{"question": "a", "answer": "b"}]'], "prompt.examples are chat turns"),
        (["prompt.template=boxed_chat", 'prompt.examples=[{"question": "a"}]'], "prompt.examples[0] must have exactly the keys"),
        (["prompt.template=boxed_chat", "prompt.user_message=Solve it."], "must contain {question}"),
    ],
)
def test_a_wrong_prompt_setting_is_one_line_naming_it(overrides, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]").replace("{", r"\{").replace("}", r"\}")):
        load_config("demo/smoke", overrides)
