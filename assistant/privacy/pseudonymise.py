"""Replacing personal data, reversibly or not, and putting it back.

- `Pseudonymiser(mode, key)`: a question with its personal data replaced, and the mapping back.
  `PrivacyMode.PLACEHOLDERS` numbers the values of each type in order of appearance
  (`[PERSON_1]`, `[PERSON_2]`, `[PHONE_1]`); `PrivacyMode.PSEUDONYMS` writes a keyed HMAC-SHA256 of
  the type and the normalised value (`[PERSON_1a2b3c]`, `Tuning.privacy_pseudonym_hex` hex
  digits), so the same person or number gets the same pseudonym in every question under one key,
  and nobody without the key can test a guess. The key is given by the caller (bytes).
  The same value twice in a text gets the same token.
- `restore(text, mapping)`: the tokens of a (model's) answer replaced by the asker's own values.
- `redact_known(text, values)`: an ANSWER with only the question's own personal values removed;
  quoted law ("« ... » [n]") and citation lines ("[n] title — article") are never rewritten.
- `pseudonym(text, key)`: the keyed HMAC of a whole text (an auditor links repeated questions).

Replacement itself goes through Presidio's AnonymizerEngine (custom operators, no merging).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.modes import PrivacyMode
from assistant.privacy.entities import Entity, EntityType
from assistant.textnorm import ARABIC_INDIC_DIGITS
from assistant.tuning import TUNING

_ANONYMIZER: Any = None
_LOCK = threading.Lock()


def _anonymizer() -> Any:
    global _ANONYMIZER
    if _ANONYMIZER is None:
        with _LOCK:
            if _ANONYMIZER is None:
                from presidio_anonymizer import AnonymizerEngine

                _ANONYMIZER = AnonymizerEngine()
    return _ANONYMIZER


def replace_entities(text: str, entities: Sequence[Entity], token: Callable[[Entity], str]) -> str:
    """`text` with each entity (non-overlapping) replaced by `token(entity)`."""
    if not entities:
        return text
    from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

    by_span = {(e.start, e.end): token(e) for e in entities}
    results = [RecognizerResult(e.type, e.start, e.end, e.score) for e in entities]
    # one operator per type; the span's token is looked up by its text, the same text within one
    # type always gets the same token
    by_text: dict[tuple[str, str], str] = {(e.type, e.text): by_span[(e.start, e.end)] for e in entities}
    operators = {
        t: OperatorConfig("custom", {"lambda": lambda value, t=t: by_text[(t, value)]})
        for t in {e.type for e in entities}
    }
    out = _anonymizer().anonymize(
        text=text, analyzer_results=results, operators=operators, merge_entities_with_spaces=False
    )
    return str(out.text)


def normalise_value(entity_type: str, value: str) -> str:
    """The form a value is keyed by: case, accents, Arabic-Indic digits and, for identifiers, the
    separators do not matter ("BE 123456" = "be123456", "06 12 34 56 78" = "0612345678")."""
    v = unicodedata.normalize("NFKC", value).translate(ARABIC_INDIC_DIGITS).casefold()
    if entity_type in {EntityType.PERSON, EntityType.ADDRESS}:
        return " ".join(v.split())
    return re.sub(r"[\s.\-()]", "", v)


@dataclass(frozen=True)
class Pseudonymised:
    """A pseudonymised text, the entities that were replaced, and token -> original value."""

    text: str
    mapping: dict[str, str] = field(default_factory=dict)
    entities: list[Entity] = field(default_factory=list)


class Pseudonymiser:
    """Replace personal data by placeholders or keyed pseudonyms, keeping the way back.

    >>> p = Pseudonymiser(PrivacyMode.PSEUDONYMS, key=secret)       # doctest: +SKIP
    >>> out = p.pseudonymise("Je suis Youssef El Amrani, CIN BE123456")  # doctest: +SKIP
    >>> out.text                                                     # doctest: +SKIP
    'Je suis [PERSON_3f9a1c], CIN [CIN_07be2d]'
    >>> restore(answer_of_remote_model, out.mapping)                 # doctest: +SKIP
    """

    def __init__(
        self,
        mode: PrivacyMode | str = PrivacyMode.PLACEHOLDERS,
        key: bytes | None = None,
        detector: Callable[[str, str | None], list[Entity]] | None = None,
    ) -> None:
        self.mode = PrivacyMode(mode)
        if self.mode is PrivacyMode.PSEUDONYMS and not key:
            raise ValueError("keyed pseudonyms need a secret key (bytes)")
        self.key = key
        self._detect = detector

    def token(self, entity_type: str, value: str, n: int = 1, length: int | None = None) -> str:
        """The token of one value: `[TYPE_n]` (placeholders) or `[TYPE_<hmac>]` (pseudonyms)."""
        if self.mode is PrivacyMode.PLACEHOLDERS:
            return f"[{entity_type}_{n}]"
        assert self.key is not None
        message = f"{entity_type}:{normalise_value(entity_type, value)}".encode()
        digest = hmac.new(self.key, message, hashlib.sha256).hexdigest()
        return f"[{entity_type}_{digest[: length or TUNING.privacy_pseudonym_hex]}]"

    def pseudonymise(
        self, text: str, language: str | None = None, entities: Sequence[Entity] | None = None
    ) -> Pseudonymised:
        """`text` with its personal data replaced (`entities`, or those `detect` finds)."""
        if entities is None:
            if self._detect is None:
                from assistant.privacy.detector import detect

                self._detect = detect
            entities = self._detect(text, language)
        tokens: dict[tuple[str, str], str] = {}
        mapping: dict[str, str] = {}
        counts: dict[str, int] = {}
        for e in entities:
            k = (e.type, normalise_value(e.type, e.text))
            if k in tokens:
                continue
            counts[e.type] = counts.get(e.type, 0) + 1
            tok = self.token(e.type, e.text, counts[e.type])
            length = TUNING.privacy_pseudonym_hex
            while tok in mapping and mapping[tok] != e.text:  # an HMAC prefix collision: lengthen
                length += 2
                tok = self.token(e.type, e.text, counts[e.type], length)
            tokens[k] = tok
            mapping[tok] = e.text
        out = replace_entities(
            text, list(entities), lambda e: tokens[(e.type, normalise_value(e.type, e.text))]
        )
        return Pseudonymised(out, mapping, list(entities))


def restore(text: str, mapping: dict[str, str]) -> str:
    """`text` with every token of `mapping` replaced by its original value (to show the asker their
    own values in an answer written from a pseudonymised question). Unknown tokens stay."""
    if not mapping:
        return text
    pattern = re.compile("|".join(re.escape(t) for t in sorted(mapping, key=len, reverse=True)))
    return pattern.sub(lambda m: mapping[m.group()], text)


# ------------------------------------------------------------------ answers
_CITED_QUOTE = re.compile(r"[«“\"][^«»“”\"]*[»”\"]\s*(?:\[\d+\](?:\s*,?\s*\[\d+\])*)")
_CITATION_LINE = re.compile(r"^\s*\[\d+\][^\n]*$", re.MULTILINE)
_DIGIT_CLASS = {str(d): f"[{d}{chr(0x0660 + d)}{chr(0x06F0 + d)}]" for d in range(10)}


def _value_pattern(value: str) -> str:
    """A value as it may be written again: any case, flexible spaces; for identifiers also any
    Arabic-Indic digits and separators between digits ("0612345678" = "06 12 34 56 78")."""
    v = value.strip().translate(ARABIC_INDIC_DIGITS)
    if any(c.isdigit() for c in v):
        chars = [c for c in v if not c.isspace() and c not in ".-"]
        parts = [_DIGIT_CLASS.get(c, re.escape(c)) for c in chars]
        body = r"[\s.\-]?".join(parts)
    else:
        body = r"\s+".join(re.escape(w) for w in v.split())
    return rf"(?<![^\W_]){body}(?![^\W_])"


def _protected(text: str) -> list[tuple[int, int]]:
    """Spans an answer quotes from the law: a quote followed by its citation, citation lines."""
    return [m.span() for m in _CITED_QUOTE.finditer(text)] + [m.span() for m in _CITATION_LINE.finditer(text)]


def redact_known(text: str, values: Iterable[str | Entity]) -> str:
    """Remove from `text` (an answer) only `values` (the personal data of the question), wherever
    they are written again outside quoted law: `[TYPE]` for an Entity, `[REDACTED]` for a string.
    Quoted passages followed by their citation ("« ... » [1]") and citation lines ("[1] Loi ...")
    are left exactly as they are: an answer's quoted law is never rewritten."""
    items: dict[str, str] = {}
    for v in values:
        value, label = (v.text, f"[{v.type}]") if isinstance(v, Entity) else (v, "[REDACTED]")
        if value and value.strip():
            items.setdefault(value.strip(), label)
    if not items or not text:
        return text
    keep = _protected(text)
    ordered = sorted(items, key=len, reverse=True)
    pattern = re.compile("|".join(f"({_value_pattern(v)})" for v in ordered), re.IGNORECASE)

    def sub(m: re.Match[str]) -> str:
        if any(s < m.end() and m.start() < e for s, e in keep):
            return m.group()
        return items[ordered[(m.lastindex or 1) - 1]]

    return pattern.sub(sub, text)


def pseudonym(text: str, key: bytes, length: int = 20) -> str:
    """The keyed HMAC-SHA256 of `text` (hex, `length` digits): links equal texts, reveals nothing."""
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:length]


class StreamRestorer:
    """`restore` for a text that arrives in pieces (a model's streamed answer): a token split across
    two pieces is held back until it is complete, so the asker never sees half a placeholder."""

    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = mapping
        self._longest = max((len(t) for t in mapping), default=0)
        self._raw = ""
        self._sent = 0

    def feed(self, piece: str) -> str:
        """The restored text that can be shown now (possibly empty)."""
        self._raw += piece
        if not self.mapping:
            return self._emit(self._raw)
        cut = len(self._raw)
        start = self._raw.rfind("[")
        if start != -1 and "]" not in self._raw[start:] and cut - start < self._longest:
            cut = start  # maybe the beginning of a token: wait for the rest
        return self._emit(self._raw[:cut])

    def finish(self) -> str:
        """Whatever was held back."""
        return self._emit(self._raw)

    def _emit(self, raw: str) -> str:
        restored = restore(raw, self.mapping)
        out = restored[self._sent :]
        self._sent = len(restored)
        return out
