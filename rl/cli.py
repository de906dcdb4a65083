"""Train reasoning models with RL and length-aware rewards (TRL GRPO/RLOO); evaluate, plot, submit to SLURM.

(For contributors: each command is one module in `rl/commands/` with `add_arguments` and `run`;
user errors print one line and exit with code 2.)
"""


from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
import warnings

import rl.commands
from rl.errors import UserError

EXIT_USER_ERROR = 2
EPILOG = """\
quick start:
  python -m rl demo                                  the CPU demo (R1-Zero vs "don't overthink"), ~14 min
  python -m rl train --config r1_zero                train with a shipped preset (or a path to your YAML)
  python -m rl eval --config r1_zero --model runs/r1_zero --samples 4
  python -m rl plot runs/r1_zero                     length and accuracy curves from metrics.jsonl
presets: r1_zero, dont_overthink, demo/smoke, ... (see the README's quick start and configs/)
"""


def command_modules() -> dict:
    names = sorted(info.name for info in pkgutil.iter_modules(rl.commands.__path__) if not info.name.startswith("_"))
    return {name: importlib.import_module(f"rl.commands.{name}") for name in names}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m rl", description=__doc__.splitlines()[0], epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in command_modules().items():
        summary = ((module.__doc__ or "").strip() or name).splitlines()[0]
        sub = subparsers.add_parser(name, help=summary, description=module.__doc__)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Deprecation chatter from inside transformers/TRL that users cannot act on.
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"transformers\..*|trl\..*")
    try:
        return int(args.run(args) or 0)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted; rerun with --resume to continue from the last checkpoint", file=sys.stderr)
        return 130
