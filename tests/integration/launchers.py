"""`python -m rl` launchers for the crash tests: they SIGKILL the run at a chosen moment, as a preemption would."""

import textwrap

# Runs `python -m rl train`, but SIGKILLs itself in the middle of writing checkpoint-<KILL_AT>: after
# the weights, before the optimizer, RNG and trainer state (as a preemption would).
KILLING_LAUNCHER = textwrap.dedent(
    """
    import os, signal, sys
    import transformers

    kill_at = int(os.environ["KILL_AT_STEP"])
    original = transformers.Trainer._save_optimizer_and_scheduler

    def save_then_die(self, output_dir):
        if self.state.global_step == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(self, output_dir)

    transformers.Trainer._save_optimizer_and_scheduler = save_then_die
    from rl.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)
