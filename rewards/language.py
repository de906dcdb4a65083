"""Language consistency of the reasoning (DeepSeek-R1, sec. 2.3.3).

Script-based word counting, with an optional py3langid detector for same-script languages.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from rewards.base import RewardComponent

SCRIPT_OF_LANGUAGE = {
    "zh": "Han", "ja": "Japanese", "ko": "Hangul", "ru": "Cyrillic", "uk": "Cyrillic", "bg": "Cyrillic",
    "sr": "Cyrillic", "ar": "Arabic", "fa": "Arabic", "ur": "Arabic", "he": "Hebrew", "el": "Greek",
    "hi": "Devanagari", "mr": "Devanagari", "ne": "Devanagari", "th": "Thai", "bn": "Bengali",
    "ta": "Tamil", "ka": "Georgian", "hy": "Armenian",
}  # fmt: skip
_CJK_SCRIPTS = {"Han", "Japanese", "Hangul", "Thai"}
_NOT_WORDS = re.compile(
    r"```.*?```|`[^`]*`|\$\$.*?\$\$|\$[^$]*\$|\\\(.*?\\\)|\\\[.*?\\\]|\\[a-zA-Z]+|[{}_^]",
    re.DOTALL,
)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# What a byte-level model's broken multi-byte character decodes to (bytes.decode(errors="replace")): text in
# no language, not maths. Counted as a unit of its own script, so garbling a foreign word never makes a
# reasoning read as consistent (it would otherwise hold no words at all and score 1).
UNDECODABLE = "Undecodable"
_UNDECODABLE_RUN = re.compile("\ufffd+")
_UNICODE_SCRIPTS = (
    ("CJK", "Han"), ("HIRAGANA", "Japanese"), ("KATAKANA", "Japanese"), ("HANGUL", "Hangul"),
    ("CYRILLIC", "Cyrillic"), ("ARABIC", "Arabic"), ("HEBREW", "Hebrew"), ("GREEK", "Greek"),
    ("DEVANAGARI", "Devanagari"), ("THAI", "Thai"), ("BENGALI", "Bengali"), ("TAMIL", "Tamil"),
    ("GEORGIAN", "Georgian"), ("ARMENIAN", "Armenian"), ("LATIN", "Latin"),
)  # fmt: skip


def script_of_language(language: str) -> str:
    """The script a language code is written in (`en` -> Latin, `zh` -> Han); unknown codes -> Latin."""
    code = language.lower().replace("_", "-").split("-")[0]
    return SCRIPT_OF_LANGUAGE.get(code, "Latin")


def char_script(char: str) -> str | None:
    name = unicodedata.name(char, "")
    for marker, script in _UNICODE_SCRIPTS:
        if marker in name:
            return script
    return None


def script_units(text: str) -> list[tuple[str, str]]:
    """(unit, script) pairs: words for alphabetic scripts, single characters for CJK ones, and each run of
    U+FFFD (`UNDECODABLE`) as one unit of no language's script."""
    text = _NOT_WORDS.sub(" ", text)
    units: list[tuple[str, str]] = []
    for word in _WORD.findall(text):
        scripts = [char_script(char) for char in word]
        if all(script == scripts[0] for script in scripts) and scripts[0] not in _CJK_SCRIPTS:
            if scripts[0] is not None:
                units.append((word, scripts[0]))
            continue
        run: list[str] = []
        for char, script in zip(word, scripts):  # mixed or CJK: CJK per character, others per run
            if script in _CJK_SCRIPTS:
                if run:
                    units.append(("".join(run), char_script(run[0]) or "Latin"))
                    run = []
                units.append((char, script))
            elif script is not None:
                run.append(char)
        if run:
            units.append(("".join(run), char_script(run[0]) or "Latin"))
    return units + [(run, UNDECODABLE) for run in _UNDECODABLE_RUN.findall(text)]


def dominant_script(text: str) -> str | None:
    counts = Counter(script for _, script in script_units(text))
    return counts.most_common(1)[0][0] if counts else None


def script_share(text: str, target_script: str) -> float | None:
    """Share of the words of `text` written in `target_script`; None when it has no words at all."""
    units = script_units(text)
    if not units:
        return None
    return sum(script == target_script for _, script in units) / len(units)


class LangidShare:
    """Same-script languages (en vs de): share of words in sentences py3langid assigns to the target."""

    def __init__(self) -> None:
        try:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier
        except ImportError as error:
            raise ValueError(
                "rewards.language.detector 'py3langid' needs the package: pip install py3langid"
            ) from error
        self.identifier = LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)

    def __call__(self, text: str, language: str) -> float | None:
        target_script = script_of_language(language)
        total = in_target = 0
        for sentence in re.split(r"(?<=[.!?。！？\n])\s*", _NOT_WORDS.sub(" ", text)):
            units = script_units(sentence)
            if not units:
                continue
            total += len(units)
            if script_of_language(language) != "Latin" or all(s != "Latin" for _, s in units):
                in_target += sum(script == target_script for _, script in units)
            elif self.identifier.classify(sentence)[0] == language.split("-")[0].lower():
                in_target += sum(script == "Latin" for _, script in units)
        return in_target / total if total else None


@dataclass
class LanguageParams:
    """Parameters of `language`."""

    target: str | None = None  # a language code (`en`, `zh`); None: the row's `language` column, else the question's script
    detector: str = "script"  # `script` (built in) or `py3langid` (same-script languages; optional package)
    language_column: str = "language"

    def __post_init__(self) -> None:
        if self.detector not in ("script", "py3langid"):
            raise ValueError(f"detector must be 'script' or 'py3langid', got {self.detector!r}")


class LanguageConsistency(RewardComponent):
    r"""`language`: the share of the reasoning's words that are in the target language.

    $$ r_{\text{lang}}(y) = \frac{\#\{\text{reasoning words in the target language}\}}{\#\{\text{reasoning words}\}} \in [0, 1] $$

    LaTeX, numbers, code and symbols are not words; CJK scripts count one word per character, and a run
    of undecodable bytes (U+FFFD) one word in no language. The
    language is identified by its script (Han, Latin, Cyrillic, ...), which catches R1-Zero's
    failure mode (Chinese/English mixing). A reasoning of only maths scores 1; a missing or empty one 0
    where the layout has one (`<think></think>`), never in the `boxed` layout, where a bare `\boxed{5}` is well-formed.
    Target: param `target`, else the row's `language` column, else the question's script.
    """

    Params = LanguageParams
    score_bounds = (0.0, 1.0)

    def __init__(self, name: str, analyzer, params: LanguageParams) -> None:
        super().__init__(name, analyzer, params)
        self._langid = LangidShare() if params.detector == "py3langid" else None

    def score(self, analysis, columns: dict) -> list[float]:
        languages = columns.get(self.params.language_column)
        shares = []
        for index, reasoning in enumerate(analysis.reasoning):
            language = self.params.target or (languages[index] if languages else None)
            if analysis.reasoning_missing[index]:  # the layout's reasoning region is absent or empty: nothing to pay
                shares.append(0.0)
                continue
            if self._langid is not None and language:
                share = self._langid(reasoning, language)
            else:
                if language:
                    script = script_of_language(language)
                else:
                    script = dominant_script(analysis.questions[index]) or "Latin"
                share = script_share(reasoning, script)
            shares.append(1.0 if share is None else share)  # all maths, no words: nothing inconsistent
        self.log(columns, "language/consistency_mean", sum(shares) / max(len(shares), 1))
        return shares
