"""Prompt templates: R1-Zero plain text (base models), boxed chat (instruct models), or a custom string."""

from __future__ import annotations

# DeepSeek-R1-Zero's template (DeepSeek-AI 2025, Table 1); the prompt ends inside `<think>`.
R1_ZERO = (
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
    "The assistant first thinks about the reasoning process in the mind and then provides the user with "
    "the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> "
    "</answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here "
    "</answer>. User: {question} Assistant: <think>"
)
BOXED_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
# L1/LCPO (Aggarwal & Welleck 2025): the prompt states the budget the `length_target` reward holds it to.
BUDGET_SENTENCE = " Think for at most {budget} tokens."
R1_ZERO_BUDGET = R1_ZERO.replace(" User: {question}", BUDGET_SENTENCE + " User: {question}")
NAMED_TEMPLATES = ("r1_zero", "r1_zero_budget", "boxed_chat", "boxed_chat_budget")


def render_prompt(
    template: str, question: str, system: str | None = None, budget: int | None = None, user_message: str | None = None,
    examples: list[dict[str, str]] | tuple = (),
) -> str | list[dict[str, str]]:
    """The `prompt` column TRL expects: a string (plain templates) or a message list (`boxed_chat*`).

    `{budget}` (in `*_budget` templates or a custom one) is filled with `budget`. `user_message`
    (`boxed_chat*` only) replaces the default user turn ("{question}" then the boxed instruction).
    `examples` (`boxed_chat*` only), each `{"question", "answer"}`, come first as finished user and
    assistant turns (few-shot in the chat's own format): an instruct model sees a worked answer end
    with its end-of-turn token, so it answers and stops instead of writing the next "Question:".
    """
    if template in ("boxed_chat", "boxed_chat_budget"):
        messages = [{"role": "system", "content": system}] if system else []
        instruction = BOXED_INSTRUCTION + (BUDGET_SENTENCE if template == "boxed_chat_budget" else "")
        user = user_message if user_message is not None else f"{{question}}\n{instruction}"
        for example in examples:
            messages += [{"role": "user", "content": fill(user, example["question"], budget)},
                         {"role": "assistant", "content": example["answer"]}]  # fmt: skip
        return messages + [{"role": "user", "content": fill(user, question, budget)}]
    text = {"r1_zero": R1_ZERO, "r1_zero_budget": R1_ZERO_BUDGET}.get(template, template)
    return fill(text, question, budget)


def fill(text: str, question: str, budget: int | None) -> str:
    if budget is not None:
        text = text.replace("{budget}", str(budget))
    return text.replace("{question}", question)


def uses_budget(template: str) -> bool:
    return template.endswith("_budget") or "{budget}" in template
