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


def render_prompt(template: str, question: str, system: str | None = None) -> str | list[dict[str, str]]:
    """The `prompt` column TRL expects: a string (plain templates) or a message list (`boxed_chat`)."""
    if template == "r1_zero":
        return R1_ZERO.replace("{question}", question)
    if template == "boxed_chat":
        messages = [{"role": "system", "content": system}] if system else []
        return messages + [{"role": "user", "content": f"{question}\n{BOXED_INSTRUCTION}"}]
    return template.replace("{question}", question)
