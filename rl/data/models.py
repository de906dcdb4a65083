"""Model resolution: hub id, local path, GGUF file, pip package, or `tiny:<preset>`, a small causal LM built here from scratch.

The tiny model (and its byte-level BPE tokenizer, trained on the shipped task and the prompt
templates) lets tests and the CPU demo run with no network; it is cached under `model.cache_dir`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from rewards.extract import TAGS
from rl.config import ModelSettings
from rl.config.prompts import BOXED_INSTRUCTION, R1_ZERO
from rl.data.tasks import ArithmeticTask, generate_rows, guess_trace, reasoning_trace
from rl.errors import ConfigError, first_line

logger = logging.getLogger("rl.models")
TAG_TOKENS = list(TAGS)  # the reward library's tags, one token each in the tiny tokenizer
EOS, PAD = "<|endoftext|>", "<|pad|>"
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|' + message['role'] + '|>' + message['content'] + '\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)
# As DeepSeek-R1-Distill's template does, the generation prompt opens the reasoning: the model starts inside <think>.
THINK_CHAT_TEMPLATE = CHAT_TEMPLATE.replace("'<|assistant|>'", "'<|assistant|><think>\n'")


@dataclass(frozen=True)
class TinyPreset:
    hidden_size: int
    layers: int
    heads: int
    vocab_size: int = 1024
    max_positions: int = 1024
    seed: int = 0
    chat_template: str | None = None  # None: CHAT_TEMPLATE


TINY_PRESETS = {
    "test": TinyPreset(hidden_size=32, layers=2, heads=2),
    "demo": TinyPreset(hidden_size=128, layers=4, heads=4),
    "small": TinyPreset(hidden_size=256, layers=6, heads=8),
    # A stand-in for a reasoning model's tokenizer (tests): the chat template ends the generation prompt with `<think>\n`.
    "think": TinyPreset(hidden_size=32, layers=2, heads=2, chat_template=THINK_CHAT_TEMPLATE),
}


def resolve_model(settings: ModelSettings) -> str:
    """A path or hub id that `from_pretrained` (and TRL) can load."""
    name = settings.name_or_path
    if name.startswith("tiny:"):
        preset_name = name.split(":", 1)[1]
        if preset_name not in TINY_PRESETS:
            raise ConfigError(f"model.name_or_path: unknown tiny preset {preset_name!r} (available: {', '.join(TINY_PRESETS)})")
        from accelerate import PartialState

        # Under a multi-process launch rank 0 builds it (transformers only writes weights from rank 0)
        # while the others wait, then load the same files.
        with PartialState().main_process_first():
            from rl.config.presets import default_cache_dir

            cache_dir = Path(settings.cache_dir).expanduser() if settings.cache_dir else default_cache_dir()
            return str(build_tiny_model(preset_name, cache_dir))
    from rl.data.model_sources import GGUF_SUFFIX, PACKAGE_PREFIX, package_checkpoint

    gguf_file = settings.gguf_file
    if name.startswith(PACKAGE_PREFIX):
        directory, gguf_file = package_checkpoint(name, gguf_file)
        name = str(directory)
    path = Path(name).expanduser()
    if path.is_file() and path.suffix == GGUF_SUFFIX and gguf_file is None:  # `name_or_path: models/x.gguf`
        path, gguf_file = path.parent, path.name
    if path.exists():
        if gguf_file is not None and (path / gguf_file).is_file():
            return str(_converted(str(path), gguf_file, settings))
        if not (path / "config.json").is_file():
            if gguf_file is not None:
                raise ConfigError(f"model.gguf_file: {gguf_file} is not in {path}")
            found = sorted(p.name for p in path.glob(f"*{GGUF_SUFFIX}")) if path.is_dir() else []
            hint = f" (it holds {', '.join(found)}: set model.gguf_file)" if found else ""
            raise ConfigError(f"model.name_or_path: {name} is not a model directory (no config.json in it){hint}")
        return str(path)  # an ordinary directory (a trained run, say) even when model.gguf_file names the base's file
    if looks_local(name):
        raise ConfigError(f"model.name_or_path: local model not found: {name}")
    if gguf_file is not None:
        return str(_converted(name, gguf_file, settings))  # a hub id: transformers fetches the file (on users' machines)
    return name


def _converted(source: str, gguf_file: str, settings: ModelSettings) -> Path:
    """The GGUF checkpoint as a plain directory in the cache (rank 0 converts under a launch, the others wait)."""
    from accelerate import PartialState

    from rl.config.presets import default_cache_dir
    from rl.data.model_sources import convert_gguf

    cache_dir = Path(settings.cache_dir).expanduser() if settings.cache_dir else default_cache_dir()
    with PartialState().main_process_first():
        return convert_gguf(source, gguf_file, settings.dtype, cache_dir, settings.trust_remote_code)


def looks_local(name: str) -> bool:
    """Whether a missing model name was meant as a local path rather than a hub id (`org/name`).

    A hub id has exactly one slash and no leading `.`, `/` or `~`; `runs/nope` counts as local when
    a `runs/` directory exists here, since a user then means their own run.
    """
    if name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name:
        return True
    return "/" in name and Path(name.split("/", 1)[0]).is_dir()


def tokenizer_corpus(seed: int = 0) -> list[str]:
    """Text the tiny tokenizer learns merges from: the templates and the shipped task's traces."""
    rng = random.Random(seed)
    rows = generate_rows(600, "train", ArithmeticTask(max_terms=4, max_operand=9), seed=seed)
    corpus = [R1_ZERO, BOXED_INSTRUCTION, "Please reason step by step."]
    for row in rows:
        trace, _ = reasoning_trace(row["question"], rng.randint(0, 2), rng.random() < 0.3, rng)
        corpus.append(R1_ZERO.replace("{question}", row["question"]) + trace)
        corpus.append(guess_trace(row["question"], 0.5, rng)[0])
    return corpus


def build_tiny_model(preset_name: str, cache_dir: Path) -> Path:
    """Build (once) and return the directory of a randomly initialised tiny causal LM + tokenizer."""
    preset = TINY_PRESETS[preset_name]
    corpus = tokenizer_corpus(preset.seed)
    # Keyed by the corpus itself: a change to the task's traces or templates builds a new tokenizer.
    preset_fields = {key: value for key, value in asdict(preset).items() if value is not None}  # unset: the digests of before
    recipe = {**preset_fields, "corpus_sha1": hashlib.sha1("\n".join(corpus).encode()).hexdigest()}
    digest = hashlib.sha1(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:8]
    target = cache_dir / f"tiny-{preset_name}-{digest}"
    if (target / "config.json").is_file() and (target / "tokenizer.json").is_file():
        return target
    import torch
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    logger.info("building tiny model %s in %s", preset_name, target)
    tokenizer = Tokenizer(models.BPE())
    # GPT-2-style byte-level pre-tokenisation: frequent numbers with their leading space (" 12") become
    # single tokens, so a step result is one prediction and copying an operand one attention hop.
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=preset.vocab_size,
        special_tokens=[EOS, PAD],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus, trainer)
    # Tags are ordinary (non-special) tokens: TRL decodes completions with skip_special_tokens.
    tokenizer.add_tokens([AddedToken(tag, special=False, normalized=False) for tag in TAG_TOKENS])
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=EOS, pad_token=PAD, bos_token=None)
    fast.chat_template = preset.chat_template or CHAT_TEMPLATE
    fast.padding_side = "left"
    torch.manual_seed(preset.seed)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=preset.hidden_size,
        intermediate_size=preset.hidden_size * 4,
        num_hidden_layers=preset.layers,
        num_attention_heads=preset.heads,
        num_key_value_heads=preset.heads,
        max_position_embeddings=preset.max_positions,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
        bos_token_id=None,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = fast.eos_token_id
    model.generation_config.pad_token_id = fast.pad_token_id
    # Separate processes (parallel test runs) may build at once: each in its own staging directory
    # (same seed, same result), and the first rename wins.
    staging = target.with_name(f"{target.name}.partial-{os.getpid()}")
    model.save_pretrained(staging)
    fast.save_pretrained(staging)
    try:
        staging.rename(target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def model_init_kwargs(settings: ModelSettings) -> dict:
    """`model_init_kwargs` for TRL (it loads the model from the resolved path)."""
    kwargs: dict = {"dtype": settings.dtype}
    if settings.attn_implementation:
        kwargs["attn_implementation"] = settings.attn_implementation
    if settings.trust_remote_code:
        kwargs["trust_remote_code"] = True
    return kwargs


def peft_config(settings: ModelSettings):
    """A peft `LoraConfig` when `model.lora` is set, else None."""
    if settings.lora is None:
        return None
    try:
        from peft import LoraConfig
    except ImportError:
        raise ConfigError('model.lora needs peft: pip install "lengthrl[peft]"') from None
    lora = settings.lora
    return LoraConfig(
        r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout, target_modules=lora.target_modules, task_type="CAUSAL_LM"
    )


def generation_checking(model_path: str, checking: dict, max_completion_length: int | None, chat_template_kwargs: dict | None = None,
                        trust_remote_code: bool = False) -> dict:  # fmt: skip
    """`answer_checking` plus how this model generates (`rewards.layout.generation_settings`): whether its chat
    template opens `<think>`, its EOS ids, the token budget. Keys the user set in `answer_checking` win."""
    from transformers import AutoTokenizer, GenerationConfig

    from rewards.layout import generation_settings

    try:
        tokenizer = AutoTokenizer.from_pretrained(model_path, trust_remote_code=trust_remote_code)
    except Exception as error:  # noqa: BLE001 - offline, gated, not a model: one line for the user
        raise ConfigError(f"model.name_or_path: cannot load the tokenizer of {model_path}: {first_line(error)}") from None
    try:
        generation_config = GenerationConfig.from_pretrained(model_path)
    except Exception:  # noqa: BLE001 - no generation_config.json: the tokenizer's EOS alone
        generation_config = None
    settings = generation_settings(tokenizer, max_completion_length, chat_template_kwargs, generation_config)
    return {**settings, **(checking or {})}
