"""Completion layouts: did the prompt open the reasoning, where does the answer start, did the completion finish.

The two kinds of starting model (R1-Zero's base model, a reasoning model such as R1-Distill or Qwen3)
differ in exactly these facts; `BatchAnalysis` reads them from here, so every reward agrees on them.
"""

from __future__ import annotations

from collections.abc import Sequence

from rewards.extract import THINK_CLOSE, THINK_OPEN, complete_boxes, reasoning_section

# r1_zero: `<think>reasoning</think><answer>answer</answer>` (DeepSeek-R1-Zero's template).
# think_boxed: `<think>reasoning</think>` then a final answer holding a `\boxed{}` (R1-Distill, Qwen3 thinking mode).
# boxed: no tags, the reasoning in plain text, then one final `\boxed{}` (an instruct model: Qwen2.5-Instruct,
# Llama-Instruct, SmolLM2-Instruct, asked to "put the final answer in \boxed{}").
LAYOUTS = ("r1_zero", "think_boxed", "boxed")


def boxed_reasoning(text: str) -> str:
    r"""The reasoning of a `boxed`-layout completion: the text before its final `\boxed{}`; all of it if there is none.

    >>> boxed_reasoning(r"18 + 11 = 29, so the answer is \boxed{29}.")
    '18 + 11 = 29, so the answer is '
    >>> boxed_reasoning("18 + 11 = 29.")
    '18 + 11 = 29.'
    """
    boxes = complete_boxes(text)
    return text[: boxes[-1][0]] if boxes else text


def reasoning_text(text: str, layout: str) -> str | None:
    r"""The reasoning region `layout` reads in a completion text, or None where the layout has one and the text lacks it.

    `r1_zero` / `think_boxed`: inside `<think>...</think>` (None without the tags). `boxed`: the text
    before the final box; it always exists (a bare `\boxed{5}` has an empty one, not a missing one).

    >>> reasoning_text("<think>2+3=5</think><answer>5</answer>", "r1_zero")
    '2+3=5'
    >>> reasoning_text("5", "r1_zero") is None
    True
    >>> reasoning_text(r"\boxed{5}", "boxed")
    ''
    """
    if layout == "boxed":
        return boxed_reasoning(text)
    if THINK_CLOSE in text or THINK_OPEN in text:
        return reasoning_section(text)
    return None


def prompt_opens_reasoning(prompt: object, chat_opens_reasoning: bool = False) -> bool:
    """Whether the model starts writing inside `<think>`: the generation prompt ends with it.

    A plain-string prompt is given to the model as is (TRL tokenises it without a template), so its
    own text decides: it opens the reasoning when it ends with `<think>` (trailing whitespace
    ignored). A conversational prompt (a message list) is rendered by the tokenizer's chat template,
    which the reward never sees: `chat_opens_reasoning` says what that template does, decided once
    by `chat_template_opens_reasoning`.

    >>> prompt_opens_reasoning("User: 2+3? Assistant: <think>")
    True
    >>> prompt_opens_reasoning([{"role": "user", "content": "2+3?"}], chat_opens_reasoning=True)
    True
    """
    if isinstance(prompt, str):
        return prompt.rstrip().endswith(THINK_OPEN)
    return bool(chat_opens_reasoning)


def continued_text(completion_text: str, opened: bool) -> str:
    """The completion as the layout reads it: with the prompt's `<think>` in front when the prompt opened it.

    So `reasoning</think>answer` after a prompt that opened the tag reads as reasoning + answer.
    """
    if opened and THINK_OPEN not in completion_text:
        return THINK_OPEN + completion_text
    return completion_text


def reasoning_unclosed(text: str) -> bool:
    """Whether reasoning was opened and never closed: the last `<think>` has no `</think>` after it.

    >>> reasoning_unclosed("<think>so 3, but let me check")
    True
    >>> reasoning_unclosed("<think>so 3</think> \\\\boxed{3}")
    False
    """
    opened = text.rfind(THINK_OPEN)
    return opened >= 0 and text.find(THINK_CLOSE, opened) < 0


def hit_length_limit(completion_ids: Sequence[int] | None, max_completion_length: int | None, eos_token_ids: Sequence[int] | None) -> bool:
    """Whether generation stopped at the token budget rather than at an end-of-sequence token.

    TRL hands reward functions the completion's token ids up to and including the EOS token (the
    rule behind its `completions/clipped_ratio`: the last id is not an EOS or pad id). A completion
    is cut when it holds `max_completion_length` tokens (if known) and its last id is not one of
    `eos_token_ids` (if known); with neither known, no completion counts as cut.

    >>> hit_length_limit([5, 6, 7, 8], max_completion_length=4, eos_token_ids=[0])
    True
    >>> hit_length_limit([5, 6, 7, 0], max_completion_length=4, eos_token_ids=[0])
    False
    >>> hit_length_limit([5, 6], max_completion_length=4, eos_token_ids=None)
    False
    """
    if completion_ids is None or (max_completion_length is None and eos_token_ids is None):
        return False
    ids = list(completion_ids)
    if max_completion_length is not None and len(ids) < max_completion_length:
        return False
    return not ids or eos_token_ids is None or ids[-1] not in eos_token_ids


def generation_prompt(tokenizer, prompt: object, chat_template_kwargs: dict | None = None) -> str:
    """The text the model continues, rendered as TRL's `GRPOTrainer` renders it for generation.

    A plain string as is; a message list through `tokenizer.apply_chat_template(prompt,
    add_generation_prompt=True, **chat_template_kwargs)` (TRL's `chat_template_kwargs`, e.g.
    `{"enable_thinking": True}` for Qwen3).
    """
    if isinstance(prompt, str):
        return prompt
    return tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True, **(chat_template_kwargs or {}))


def chat_template_opens_reasoning(tokenizer, chat_template_kwargs: dict | None = None, conversation: list | None = None) -> bool:
    """Whether the tokenizer's chat template ends the generation prompt inside `<think>`.

    Renders `conversation` (default: one user message) with `add_generation_prompt=True` and
    `chat_template_kwargs`, exactly as TRL renders a prompt for generation, and checks that the text
    ends with `<think>` (whitespace ignored). True for DeepSeek-R1-Distill (`...<｜Assistant｜><think>\\n`);
    False for Qwen3 in thinking mode (the model writes `<think>` itself) and for templates without one.
    A tokenizer without a chat template opens nothing.
    """
    if getattr(tokenizer, "chat_template", None) is None:
        return False
    conversation = conversation or [{"role": "user", "content": "What is 2 + 3?"}]
    return prompt_opens_reasoning(generation_prompt(tokenizer, conversation, chat_template_kwargs))


def eos_token_ids(tokenizer, generation_config=None, include_pad: bool = True) -> tuple[int, ...]:
    """The ids that end a completion, as TRL collects them: the generation config's EOS ids and the tokenizer's EOS
    (generation stops at these), and the pad id (TRL's `clipped_ratio` counts a completion ending in it as finished)."""
    ids = getattr(generation_config, "eos_token_id", None) if generation_config is not None else None
    ids = [] if ids is None else [ids] if isinstance(ids, int) else list(ids)
    extras = (getattr(tokenizer, "eos_token_id", None), getattr(tokenizer, "pad_token_id", None) if include_pad else None)
    for extra in extras:
        if extra is not None and extra not in ids:
            ids.append(extra)
    return tuple(ids)


def generation_settings(
    tokenizer, max_completion_length: int | None, chat_template_kwargs: dict | None = None, generation_config=None,
    conversation: list | None = None,
) -> dict:  # fmt: skip
    """The `answer_checking` options that describe how the policy generates, for `rewards.build(spec, checking)`.

    `chat_opens_reasoning` (the chat template's generation prompt ends inside `<think>`),
    `max_completion_length` (TRL's, the budget a cut completion ran into) and `eos_token_ids` (the
    ids that end a finished completion). `rl train` and `rl eval` fill them in this way; a TRL
    script of one's own does the same:

        checking = {"layout": "think_boxed", **generation_settings(tokenizer, args.max_completion_length, args.chat_template_kwargs)}
        funcs, weights = rewards.build(spec, checking)
    """
    return {
        "chat_opens_reasoning": chat_template_opens_reasoning(tokenizer, chat_template_kwargs, conversation),
        "max_completion_length": max_completion_length,
        "eos_token_ids": eos_token_ids(tokenizer, generation_config),
    }
