"""Evaluation: generate answers (HF, vLLM), grade them through the reward stack, metrics, summaries, plots; also during training."""
