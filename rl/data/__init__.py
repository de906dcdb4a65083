"""Data: datasets and the shipped task -> rows with prompts, and where a model comes from (hub, path, GGUF, `tiny:`)."""
