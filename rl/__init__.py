"""Everything around the trainer: config, data, prompts, models, training, eval, plots, launch, CLI."""
