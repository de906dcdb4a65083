"""CLI commands, one module each (discovered by `rl.cli`)."""
