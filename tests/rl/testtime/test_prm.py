"""Step labels (m/n from rollouts), verifier training and loading, the AUC, and their bad inputs."""

from __future__ import annotations

import json
from functools import partial

import pytest

from rl.cli import main
from rl.config import validate
from rl.config.prompts import R1_ZERO
from rl.errors import UserError
from rl.eval.grading import grade_samples
from rl.testtime.prm_labels import label_questions, read_labels
from rl.testtime.verifiers import encode_steps, load_verifier, roc_auc, split_steps, step_auc

QUESTION = "Compute 1 + 2 + 3 ."
PROMPT = R1_ZERO.replace("{question}", QUESTION)
ROW = {"id": "q0", "question": QUESTION, "answer": "6", "prompt": PROMPT}
RIGHT = " So the answer is 6 . </think> <answer> 6 </answer>"
WRONG = " So the answer is 5 . </think> <answer> 5 </answer>"


class ScriptedPolicy:
    """Solutions and continuations read from a script: text after the prompt -> the n continuations."""

    def __init__(self, script: dict[str, list[str]]) -> None:
        self.script = script
        self.calls: list[tuple[int, list[int]]] = []

    def token_ids(self, text: str) -> list[int]:
        return list(range(len(text.split())))

    def sample(self, texts, n, max_new_tokens):
        self.calls.append((n, list(max_new_tokens)))
        outputs = []
        for text in texts:
            continuations = self.script[text[len(PROMPT) :]]
            assert len(continuations) == n
            outputs.append([(c, list(range(len(c.split()))) + [0]) for c in continuations])  # + an EOS id
        return outputs


def test_split_steps_is_lossless_and_keeps_each_separator_with_its_step():
    text = " 1 + 2 = 3 . 3 + 3 = 6 ." + RIGHT
    steps = split_steps(text, " .")
    assert steps == [" 1 + 2 = 3 .", " 3 + 3 = 6 .", " So the answer is 6 .", " </think> <answer> 6 </answer>"]
    assert "".join(steps) == text
    assert split_steps("a\nb\n\n c\n", "\n") == ["a\n", "b\n\n", " c\n"]
    assert split_steps("", "\n") == []
    with pytest.raises(ValueError, match="separator"):
        split_steps("a", "")


def test_labels_are_m_over_n_of_the_rollouts_from_each_step_prefix():
    good = " 1 + 2 = 3 . 3 + 3 = 6 ." + RIGHT
    bad = " 1 + 2 = 4 . 4 + 3 = 7 ." + WRONG.replace("5", "7")
    slip = " 1 + 2 = 3 . 3 + 3 = 5 ." + WRONG  # shares its first step with `good`
    script = {
        "": [good, bad, slip],
        " 1 + 2 = 3 .": [" 3 + 3 = 6 ." + RIGHT] * 3 + [" 3 + 3 = 5 ." + WRONG],  # 3 of 4
        " 1 + 2 = 3 . 3 + 3 = 6 .": [RIGHT] * 4,  # 4 of 4
        " 1 + 2 = 3 . 3 + 3 = 6 . So the answer is 6 .": [" </think> <answer> 6 </answer>"] * 2 + [" </think>"] * 2,  # unfinished: 2 of 4
        " 1 + 2 = 4 .": [" 4 + 3 = 7 ." + WRONG] * 3 + [" 3 + 3 = 6 ." + RIGHT],  # 1 of 4
        " 1 + 2 = 4 . 4 + 3 = 7 .": [WRONG] * 4,
        " 1 + 2 = 4 . 4 + 3 = 7 . So the answer is 7 .": [" </think> <answer> 7 </answer>"] * 4,
        " 1 + 2 = 3 . 3 + 3 = 5 .": [WRONG] * 3 + [RIGHT],
        " 1 + 2 = 3 . 3 + 3 = 5 . So the answer is 5 .": [" </think> <answer> 5 </answer>"] * 4,
    }
    policy = ScriptedPolicy(script)
    grade = partial(grade_samples, {"correctness": {}})
    [solutions] = label_questions([ROW], [PROMPT], policy, grade, samples=3, rollouts=4, max_new_tokens=64, separator=" .")
    first, second, third = solutions
    assert first["labels"] == [0.75, 1.0, 0.5, 1.0] and first["correct"] and first["successes"] == [3, 4, 2, 4]
    assert second["labels"] == [0.25, 0.0, 0.0, 0.0] and not second["correct"]
    assert third["labels"] == [0.75, 0.25, 0.0, 0.0]  # its first step is `first`'s, rolled out once for both
    assert first["completions"] == split_steps(good, " .") and first["prompt"] == PROMPT and first["step_separator"] == " ."
    assert first["rollout_tokens"] == sum(len(c.split()) + 1 for prefix in list(script)[1:4] for c in script[prefix])
    assert third["rollout_tokens"] == sum(len(c.split()) + 1 for prefix in list(script)[7:] for c in script[prefix])
    # One batched call for the solutions, one for every distinct prefix's rollouts; a rollout's budget is what its prefix left.
    assert policy.calls[0] == (3, [64]) and policy.calls[1][0] == 4 and len(policy.calls[1][1]) == len(script) - 1 and policy.calls[1][1][:3] == [64 - 6, 64 - 12, 64 - 18]


def test_encode_steps_points_at_each_steps_last_token():
    from transformers import AutoTokenizer

    from rl.data.models import build_tiny_model

    tokenizer = AutoTokenizer.from_pretrained(build_tiny_model("test", _cache()))
    steps = split_steps(" 1 + 2 = 3 . 3 + 3 = 6 ." + RIGHT, " .")
    ids, positions = encode_steps(tokenizer, PROMPT, steps)
    assert len(positions) == len(steps) and positions[-1] == len(ids) - 1
    prefix_ids = tokenizer(PROMPT + steps[0], add_special_tokens=False)["input_ids"]
    assert positions[0] == len(prefix_ids) - 1 and tokenizer.decode(ids[positions[0]]).endswith(".")
    cut_ids, cut_positions = encode_steps(tokenizer, PROMPT, steps, max_length=positions[1] + 1)
    assert len(cut_ids) == positions[1] + 1 and cut_positions == positions[:2]


def test_roc_auc_counts_ties_half_and_needs_both_classes():
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == 0.75
    assert roc_auc([0.5, 0.5], [True, False]) == 0.5
    assert roc_auc([0.2, 0.3], [True, True]) is None


def _cache():
    from rl.config.presets import default_cache_dir

    return default_cache_dir()


def labelled_rows(count: int = 24) -> list[dict]:
    """Toy labels a verifier can learn: a step with `=` and a right sum is good, a `?` step bad."""
    rows = []
    for index in range(count):
        if index % 2:
            steps, labels = [" 1 + 2 = 3 .", " 3 + 3 = 6 .", RIGHT], [1.0, 0.75, 1.0]
        else:
            steps, labels = [" 1 + 2 = 3 .", " ? ? ? .", WRONG], [0.75, 0.0, 0.0]
        rows.append({"id": f"q{index}", "prompt": PROMPT, "completions": steps, "labels": labels, "step_separator": " ."})
    return rows


def write_labels(path, rows) -> str:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A process and an outcome verifier trained on `tiny:test` (seconds)."""
    from rl.testtime.prm_train import train_verifier

    root = tmp_path_factory.mktemp("prm")
    labels = write_labels(root / "labels.jsonl", labelled_rows())
    paths = {}
    for kind in ("process", "outcome"):
        config = validate({"model": {"name_or_path": "tiny:test"}, "prm": {"train": {"kind": kind, "max_steps": 30, "batch_size": 8, "learning_rate": 3e-3}}})
        paths[kind] = root / kind
        summary = train_verifier(config, labels, out_dir=paths[kind])
        assert summary["kind"] == kind and summary["examples"] == 24
    return paths, labels


def test_trained_verifiers_load_and_score_every_step_in_unit_range(trained):
    paths, labels = trained
    process = load_verifier(paths["process"])
    assert process.kind == "process" and process.step_separator == " ."
    rows = labelled_rows(2)
    scores = process.score_steps([PROMPT, PROMPT], [rows[0]["completions"], rows[1]["completions"]])
    assert [len(values) for values in scores] == [3, 3] and all(0 <= v <= 1 for values in scores for v in values)
    assert process.score_steps([PROMPT], [[]]) == [[]]
    whole = process.score([PROMPT, PROMPT], ["".join(rows[0]["completions"]), "".join(rows[1]["completions"])])
    assert whole == pytest.approx([scores[0][-1], scores[1][-1]], abs=1e-5)
    again = load_verifier(paths["process"]).score_steps([PROMPT], [rows[1]["completions"]])
    assert again[0] == pytest.approx(scores[1], abs=1e-6)  # the round trip gives the same scores
    assert load_verifier(paths["outcome"]).kind == "outcome"


def test_process_verifier_separates_the_toy_steps(trained):
    paths, labels = trained
    result = step_auc(load_verifier(paths["process"]), read_labels(labels))
    assert result["steps"] == 72 and result["good_steps"] == 36 + 12 and result["auc"] > 0.9


def test_bad_label_files_and_verifier_dirs_are_one_line_errors(tmp_path, capsys, trained):
    paths, labels = trained
    cases = {
        "missing.jsonl": ("no such file", None),
        "short.jsonl": ("2 steps but 1 labels", [{"prompt": "p", "completions": ["a", "b"], "labels": [1.0]}]),
        "layout.jsonl": ("lacks labels", [{"prompt": "p", "completions": ["a"]}]),
        "range.jsonl": ("outside [0, 1]", [{"prompt": "p", "completions": ["a"], "labels": [2]}]),
    }
    for name, (message, rows) in cases.items():
        path = tmp_path / name
        if rows is not None:
            write_labels(path, rows)
        assert main(["prm", "auc", "--verifier", str(paths["process"]), "--labels", str(path)]) == 2
        assert message in capsys.readouterr().err
    assert main(["prm", "auc", "--verifier", str(tmp_path), "--labels", labels]) == 2
    assert "not a trained verifier" in capsys.readouterr().err
    one_sided = write_labels(tmp_path / "one.jsonl", [{"prompt": PROMPT, "completions": ["a ."], "labels": [1.0]}])
    assert main(["prm", "train", "--config", "demo/smoke", "--labels", one_sided, "--out", str(tmp_path / "v")]) == 2
    assert "nothing to tell apart" in capsys.readouterr().err
    assert main(["prm", "label", "--config", "demo/smoke", "--model", "tiny:test", "--rollouts", "0"]) == 2
    assert "prm.label.rollouts" in capsys.readouterr().err


class ConstantPolicy(ScriptedPolicy):
    """The same two-step solution and continuation for any question; records the prompts it was asked."""

    def __init__(self) -> None:
        super().__init__({})
        self.prompts: list[str] = []

    def render(self, prompt):
        return prompt

    def sample(self, texts, n, max_new_tokens):
        self.prompts += [text for text in texts if text.endswith("<think>")]
        return [[(" 1 + 1 = 2 ." + RIGHT.replace("6", "2"), [1] * 12)] * n for _ in texts]


def test_label_resumes_after_a_kill_and_writes_the_dataset_once(tmp_path):
    from rl.testtime.prm_labels import LABELS_FILE, PARTIAL_FILE, label

    config = validate({
        "model": {"name_or_path": "tiny:test"}, "data": {"source": "generated:arithmetic", "generated": {"train_size": 6, "test_size": 4}},
        "rewards": {"correctness": {"weight": 1.0}}, "trainer": {"max_completion_length": 32},
        "prm": {"step_separator": " .", "label": {"samples": 2, "rollouts": 2, "batch_size": 4}},
    })  # fmt: skip
    first = label(config, "tiny:test", tmp_path, policy=ConstantPolicy())
    assert first["questions"] == 6 and first["solutions"] == 12 and first["steps"] == 36
    rows = read_labels(tmp_path)
    assert [row["completions"][0] for row in rows] == [" 1 + 1 = 2 ."] * 12
    # A kill after two questions, mid-way through writing the third: it and the rest are labelled again.
    lines = (tmp_path / PARTIAL_FILE).read_text().splitlines()
    (tmp_path / PARTIAL_FILE).write_text("\n".join(lines[:2]) + "\n" + lines[2][:40])
    (tmp_path / LABELS_FILE).unlink()
    (tmp_path / "summary.json").unlink()
    policy = ConstantPolicy()
    second = label(config, "tiny:test", tmp_path, policy=policy)
    assert len(policy.prompts) == 4 and second["questions"] == 6
    assert read_labels(tmp_path) == rows  # the same rows, in question order
    changed = config.model_copy(update={"prm": config.prm.model_copy(update={"step_separator": "\n"})})
    with pytest.raises(UserError, match="other settings"):
        label(changed, "tiny:test", tmp_path, policy=ConstantPolicy())
