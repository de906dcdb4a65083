"""Test-time compute: verifiers (step labels, training, loading), selection, step-level search, strategies, `rl eval`."""
