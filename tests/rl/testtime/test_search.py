"""Beam search keeps the beams the verifier ranks highest and counts every token it generated, pruned ones too."""

import pytest

from rl.errors import ConfigError
from rl.testtime.search import BeamSettings, Step, beam_search
from rl.testtime.selection import StepScoring

# A toy policy whose tokens are characters: a step ends with "." (the separator), a completion with "!" (EOS).
FIRST_STEPS = ["a.", "bb.", "ccc.", "G!"]  # "G!": a guess, finished at once
SECOND_STEPS = {"bb.": ["x.", "yy."], "ccc.": ["w.", "v."]}  # then "!" ends every completion
STEP_SCORES = {"a.": 0.2, "bb.": 0.9, "ccc.": 0.7, "G!": 0.1, "x.": 0.8, "yy.": 0.3, "w.": 0.85, "v.": 0.82}


class ToyPolicy:
    """Samples the next step by cycling through the options for the step's depth; records every prefix it extends."""

    def __init__(self):
        self.calls: list[list[str]] = []
        self.drawn: dict[str, int] = {}

    def decode(self, token_ids):
        return "".join(chr(t) for t in token_ids)

    def __call__(self, prompt_indices, completions):
        prefixes = [self.decode(ids) for ids in completions]
        self.calls.append(prefixes)
        steps = []
        for prefix in prefixes:
            depth = prefix.count(".")
            options = FIRST_STEPS if depth == 0 else SECOND_STEPS[prefix] if depth == 1 else ["!"]
            drawn = self.drawn.get(prefix, 0)
            self.drawn[prefix] = drawn + 1
            text = options[drawn % len(options)]
            steps.append(Step([ord(c) for c in text], finished=text.endswith("!")))
        return steps


class ScriptedVerifier:
    """A process verifier with a fixed score per step text; a final "!" step scores 0.95 after "w." and 0.5 otherwise."""

    kind = "process"
    step_separator = "."

    def score_steps(self, prompts, steps):
        return [[STEP_SCORES.get(step, 0.95 if step == "!" and "w." in these else 0.5) for step in these] for these in steps]

    def score(self, prompts, completions):
        raise AssertionError("beam search scores steps")


def split_at_dots(text, separator):
    steps, current = [], ""
    for char in text:
        current += char
        if char in (separator, "!"):
            steps.append(current)
            current = ""
    return steps + ([current] if current else [])


def search(settings, scoring=None, prompts=("q",)):
    policy = ToyPolicy()
    results = beam_search(list(prompts), policy, ScriptedVerifier(), settings, scoring, split=split_at_dots)
    return policy, results


def test_beam_search_keeps_the_top_n_over_m_beams_and_expands_each_m_times():
    policy, [result] = search(BeamSettings(beams=4, beam_width=2))
    assert policy.calls[0] == ["", "", "", ""]
    # bb. (0.9) and ccc. (0.7) are kept; a. (0.2) is pruned; the guess G! finished (it is kept as a completed beam)
    assert sorted(policy.calls[1]) == ["bb.", "bb.", "ccc.", "ccc."]
    # then, by the last step's score, ccc.w. (0.85) and ccc.v. (0.82) beat bb.x. (0.8) and bb.yy. (0.3)
    assert sorted(policy.calls[2]) == ["ccc.v.", "ccc.v.", "ccc.w.", "ccc.w."]
    assert len(policy.calls) == 3  # with the guess, 5 >= N beams have finished
    assert result.best is not None and policy.decode(result.best.token_ids) == "ccc.w.!"
    assert [round(beam.score, 2) for beam in result.completed] == [0.95, 0.95, 0.5, 0.5, 0.1]


def test_token_accounting_counts_pruned_candidates_and_finished_guesses():
    _, [result] = search(BeamSettings(beams=4, beam_width=4))  # keep 1 beam, 4 continuations of it
    # iteration 1: a. bb. ccc. G! = 2 + 3 + 4 + 2 tokens; iteration 2: x. yy. x. yy. (bb. kept) = 10;
    # iteration 3: four "!" after bb.x. (the only distinct survivor) = 4
    assert result.generated_tokens == 11 + 10 + 4
    assert len(result.best.token_ids) == 6  # the answer itself is 6 tokens: the rest was search
    assert result.iterations == 3


@pytest.mark.parametrize("aggregation", ["min", "product"])
def test_aggregation_decides_which_beams_survive(aggregation):
    # bb.x. is 0.9 then 0.8: min 0.8, product 0.72; ccc.w. is 0.7 then 0.85: min 0.7, product 0.595; ccc.v. 0.7 / 0.574.
    # `last` kept both ccc. beams; min and product keep bb.x. and the better ccc. one
    policy, _ = search(BeamSettings(beams=4, beam_width=2), StepScoring(aggregation=aggregation))
    assert sorted(policy.calls[2]) == ["bb.x.", "bb.x.", "ccc.w.", "ccc.w."]


def test_questions_are_searched_together_and_accounted_separately():
    _, results = search(BeamSettings(beams=4, beam_width=4), prompts=("q1", "q2"))
    assert [result.generated_tokens for result in results] == [25, 25]


def test_beam_search_refuses_an_outcome_verifier_and_bad_settings():
    class Outcome(ScriptedVerifier):
        kind = "outcome"

    with pytest.raises(ConfigError, match="process verifier"):
        beam_search(["q"], ToyPolicy(), Outcome(), BeamSettings(), split=split_at_dots)
    with pytest.raises(ConfigError, match="multiple of --beam-width"):
        BeamSettings(beams=6, beam_width=4)
    with pytest.raises(ConfigError, match="aggregation"):
        StepScoring(aggregation="mean")


def test_a_generated_row_is_cut_at_the_separator_at_eos_or_at_the_budget():
    from transformers import AutoTokenizer

    from rl.demo.base import shipped_base_dir
    from rl.testtime.search import HFStepGenerator

    tokenizer = AutoTokenizer.from_pretrained(shipped_base_dir())
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    generator = HFStepGenerator(None, tokenizer, [[]], [eos], max_new_tokens=40, separator=" .", max_step_tokens=32, temperature=1.0)
    ids = tokenizer(" 1 + 2 = 3 . 3 + 1 = 4 .", add_special_tokens=False)["input_ids"]
    step = generator.cut(ids + [pad, pad], room=40)  # what follows the first step is never counted
    assert generator.decode(step.token_ids) == " 1 + 2 = 3 ." and not step.finished
    closing = tokenizer(" </think> <answer> 3 </answer>", add_special_tokens=False)["input_ids"]
    step = generator.cut(closing + [eos, pad], room=40)
    assert step.token_ids == closing + [eos] and step.finished
    step = generator.cut(ids, room=3)  # the completion's token budget ends inside the step
    assert len(step.token_ids) == 3 and step.finished
