"""Training: the TRL trainers, dynamic sampling, callbacks, checkpoints, the run lock, SFT, distillation, cluster launch."""
