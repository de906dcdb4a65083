"""Answer checking: is a predicted answer the same mathematics as the gold one?

One verb: `answers_match(pred, gold)` (and `check_answers(pairs)`, the same for a whole batch, with
None where a check ran out of time). Inside: `normalize` (strings, plain numbers, the `Tolerance`),
`parse` (sympy parsing into typed answers) and `compare` (their comparison), both run only in worker
processes, `sandbox` (the worker pool with a hard time bound), `check` (fast path, memo, batching).
"""

from rewards.verify.check import DEFAULT_TIMEOUT_S, answers_match, check_answers, clear_cache, warm_up
from rewards.verify.sandbox import CheckReport

__all__ = ["DEFAULT_TIMEOUT_S", "CheckReport", "answers_match", "check_answers", "clear_cache", "warm_up"]
