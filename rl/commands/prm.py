"""Step labels and verifiers: `prm label` (m/n step labels), `prm train` (a process or outcome verifier), `prm auc`.

  python -m rl prm label --config demo/r1_zero --model rl/demo/base --set prm.step_separator=' .'
  python -m rl prm train --config demo/r1_zero --labels runs/demo/r1_zero-prm-labels --model rl/demo/base --kind process
  python -m rl prm auc --verifier runs/demo/r1_zero-process-verifier --labels runs/demo/r1_zero-prm-labels-test
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rl.commands.train import add_config_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="prm_action", required=True, metavar="ACTION")
    label = actions.add_parser("label", help="sample K solutions per question, roll out n continuations per step, label each step m/n")
    label.add_argument("--model", required=True, help="the policy: checkpoint directory, local model, hub id, or tiny:<preset>")
    add_config_arguments(label)
    label.add_argument("--split", default=None, help="questions to label (default: prm.label.split, else data.split); `test` for held-out labels")
    label.add_argument("--samples", type=int, default=None, help="K solutions per question (prm.label.samples)")
    label.add_argument("--rollouts", type=int, default=None, help="n continuations per step prefix (prm.label.rollouts)")
    label.add_argument("--limit", type=int, default=None, help="label only the first N questions (prm.label.limit)")
    label.add_argument("--out", default=None, help="output directory (prm.label.output_dir; default <trainer.output_dir>-prm-labels)")

    train = actions.add_parser("train", help="train a process or outcome verifier on step labels")
    train.add_argument("--labels", required=True, help="a labels.jsonl from `prm label`, or its directory")
    add_config_arguments(train)
    train.add_argument("--model", default=None, help="the model the verifier starts from (default: model.name_or_path)")
    train.add_argument("--kind", choices=["process", "outcome"], default=None, help="prm.train.kind (default process)")
    train.add_argument("--targets", choices=["soft", "hard"], default=None, help="prm.train.targets: m/n, or m/n > prm.train.hard_threshold")
    train.add_argument("--max-steps", type=int, default=None, help="prm.train.max_steps")
    train.add_argument("--out", default=None, help="output directory (prm.train.output_dir; default <trainer.output_dir>-<kind>-verifier)")

    auc = actions.add_parser("auc", help="AUC of a verifier's step scores against m/n labels (a step is good when m/n > threshold)")
    auc.add_argument("--verifier", required=True, help="a directory made by `prm train`")
    auc.add_argument("--labels", required=True, help="labels of held-out questions (`prm label --split test`)")
    auc.add_argument("--threshold", type=float, default=0.5, help="a step is good when its m/n label exceeds it")


def run(args: argparse.Namespace) -> int:
    if args.prm_action == "auc":
        from rl.testtime.prm_labels import read_labels
        from rl.testtime.verifiers import load_verifier, step_auc

        if not 0 <= args.threshold < 1:
            from rl.errors import UserError

            raise UserError(f"--threshold must be in [0, 1), got {args.threshold}")
        print(json.dumps(step_auc(load_verifier(args.verifier), read_labels(args.labels), args.threshold), indent=2))
        return 0
    from rl.config import load_config

    names = {"label": {"split": "split", "samples": "samples", "rollouts": "rollouts", "limit": "limit"},
             "train": {"kind": "kind", "targets": "targets", "max_steps": "max_steps"}}[args.prm_action]  # fmt: skip
    overrides = [f"prm.{args.prm_action}.{key}={json.dumps(getattr(args, flag))}" for flag, key in names.items() if getattr(args, flag) is not None]
    config = load_config(args.config, [*args.overrides, *overrides])
    out = Path(args.out) if args.out else None
    if args.prm_action == "label":
        from rl.testtime.prm_labels import label

        summary = label(config, args.model, out)
    else:
        from rl.testtime.prm_train import train_verifier

        summary = train_verifier(config, args.labels, args.model, out)
    print(json.dumps(summary, indent=2))
    return 0
