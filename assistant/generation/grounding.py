"""Grounding check of a generated answer against the sources it was given."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from assistant.modes import GroundingAction
from assistant.textnorm import match_key
from assistant.tuning import TUNING

_CITE = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_SENTENCE = re.compile(r"(?<=[.!?؟])\s+|\n+")
_QUOTE = re.compile(rf"[«“\"]([^«»“”\"]{{{TUNING.quote_min_chars},}}?)[»”\"]")


@dataclass
class GroundingReport:
    cited: list[int] = field(default_factory=list)
    invalid_citations: list[int] = field(default_factory=list)
    uncited_sentences: list[str] = field(default_factory=list)
    unsupported_quotes: list[str] = field(default_factory=list)
    sentences: int = 0
    action: GroundingAction = GroundingAction.NONE

    @property
    def ok(self) -> bool:
        return not self.invalid_citations and not self.unsupported_quotes and not self.uncited_sentences

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "cited": self.cited,
            "invalid_citations": self.invalid_citations,
            "uncited_sentences": self.uncited_sentences,
            "unsupported_quotes": self.unsupported_quotes,
            "sentences": self.sentences,
            "action": self.action.value,
        }


def citation_numbers(text: str) -> list[int]:
    out: list[int] = []
    for m in _CITE.finditer(text):
        out.extend(int(x) for x in re.split(r"\s*[,;]\s*", m.group(1)))
    return out


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if s and s.strip()]


def check(answer: str, sources: dict[int, str]) -> GroundingReport:
    """sources maps citation number -> chunk text."""
    report = GroundingReport()
    keys = {n: match_key(t) for n, t in sources.items()}
    sents = sentences(answer)
    report.sentences = len(sents)
    for sent in sents:
        nums = citation_numbers(sent)
        words = len(re.findall(r"\w+", _CITE.sub("", sent)))
        if not nums and words >= TUNING.uncited_sentence_min_words:
            report.uncited_sentences.append(sent)
        for n in nums:
            (report.cited if n in sources else report.invalid_citations).append(n)
        for quote in _QUOTE.findall(sent):
            qk = match_key(quote)
            pool = [keys[n] for n in nums if n in keys] or list(keys.values())
            if qk and not any(qk in k for k in pool):
                report.unsupported_quotes.append(quote)
    report.cited = sorted(set(report.cited))
    report.invalid_citations = sorted(set(report.invalid_citations))
    return report


def repair(answer: str, report: GroundingReport) -> str:
    """Drop citations to sources that were not given."""
    bad = set(report.invalid_citations)

    def fix(m: re.Match[str]) -> str:
        kept = [x for x in re.split(r"\s*[,;]\s*", m.group(1)) if int(x) not in bad]
        return f"[{', '.join(kept)}]" if kept else ""

    return _CITE.sub(fix, answer)


def decide(report: GroundingReport) -> GroundingAction:
    """NONE: keep; REPAIRED: keep after dropping bad citations; DOWNGRADED: use the extractive answer."""
    if not report.cited:
        return GroundingAction.DOWNGRADED
    if report.unsupported_quotes:
        return GroundingAction.DOWNGRADED
    if report.sentences and len(report.uncited_sentences) > report.sentences * TUNING.max_uncited_share:
        return GroundingAction.DOWNGRADED
    if report.invalid_citations:
        return GroundingAction.REPAIRED
    return GroundingAction.NONE
