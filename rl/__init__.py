"""Everything around the trainer, in rooms by job: config, data, eval, train, testtime, demo, commands (docs/layout.md)."""
