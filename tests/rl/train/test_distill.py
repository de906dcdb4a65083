"""`rl distill` selection: the shortest correct sample kept, incorrect never, questions without a correct one skipped."""

from rl.train.distill import select_samples


def sample(question: str, tokens: int, correct: bool) -> dict:
    return {"id": question, "tokens": tokens, "correct": correct, "completion": f"{question}-{tokens}", "prompt": question}


PER_QUESTION = [
    [sample("a", 30, True), sample("a", 10, False), sample("a", 20, True), sample("a", 50, True)],
    [sample("b", 5, False), sample("b", 7, False)],
    [sample("c", 40, True), sample("c", 40, True)],
]


def test_shortest_correct_keeps_one_per_question_and_never_an_incorrect_one():
    kept, stats = select_samples(PER_QUESTION, "shortest_correct")
    assert [s["completion"] for s in kept] == ["a-20", "c-40"]  # the 10-token one is wrong, so not kept
    assert stats["skipped_no_correct_sample"] == 1 and stats["questions_with_a_correct_sample"] == 2
    assert stats["kept_samples"] == 2 and stats["mean_tokens_kept"] == 30.0


def test_below_mean_correct_keeps_every_correct_sample_up_to_the_questions_mean():
    kept, stats = select_samples(PER_QUESTION, "below_mean_correct")
    assert [s["completion"] for s in kept] == ["a-30", "a-20", "c-40", "c-40"]  # mean of a: 33.3
    assert all(s["correct"] for s in kept) and stats["skipped_no_correct_sample"] == 1
