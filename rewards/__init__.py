"""Composable rule-based rewards for RL on reasoning models: correctness, format, language, length.

`build(spec)` turns a config's `rewards:` section into TRL reward functions and their weights.
Usable from any TRL script; imports nothing from `rl`. This module only hands the public names on:
the registry is `rewards.registry`, spec validation `rewards.spec`, weight checks `rewards.weights`.
"""

from __future__ import annotations

from rewards.analysis import AnalysisOptions, Analyzer
from rewards.base import RewardComponent
from rewards.extract import extract_answer
from rewards.registry import REGISTRY, component_class, register
from rewards.spec import RewardEntry, RewardSpecError, checking_options, did_you_mean, parse_spec
from rewards.stack import build, components, instantiate, spec_problems
from rewards.verify import answers_match
from rewards.weights import weight_invariant_violation, weight_problems

__all__ = [
    "REGISTRY", "AnalysisOptions", "Analyzer", "RewardComponent", "RewardEntry", "RewardSpecError", "answers_match", "build",
    "checking_options", "component_class", "components", "did_you_mean", "extract_answer", "instantiate", "parse_spec", "register",
    "spec_problems", "weight_invariant_violation", "weight_problems",
]  # fmt: skip
