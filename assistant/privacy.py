"""Personal-data minimisation (CNDP): questions are pseudonymised before anything is stored.

Direct identifiers are replaced by typed placeholders; a keyed hash (HMAC) of the original
question lets an auditor link repeated questions without being able to read them back.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("EMAIL", re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")),
    ("IBAN", re.compile(r"\bMA\d{2}(?:\s?\d{4}){5,6}\b|\b\d{24}\b", re.I)),
    ("PHONE", re.compile(r"(?:\+212|00212|\b0)\s?[5-7](?:[\s.-]?\d{2}){4}\b")),
    ("CIN", re.compile(r"\b[A-Z]{1,2}\s?\d{5,7}\b")),
    ("CNSS", re.compile(r"\b\d{9}\b")),
    (
        "DATE_OF_BIRTH",
        re.compile(
            r"\b(?:né|née|born|مزداد)\w*\s+(?:le\s+|on\s+|في\s+)?\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}", re.I
        ),
    ),
    (
        "NAME",
        re.compile(
            r"\b(?:M\.|Mme|Mlle|Monsieur|Madame|Mr\.?|Mrs\.?|Ms\.?)\s+[A-ZÉÈ][\w'-]+(?:\s+[A-ZÉÈ][\w'-]+)?"
        ),
    ),
    ("NAME", re.compile(r"(?:السيد|السيدة|الآنسة)\s+\S+(?:\s+\S+)?")),
]


@dataclass(frozen=True)
class Entity:
    type: str
    start: int
    end: int
    text: str
    score: float = 1.0


def detect(text: str, language: str | None = None) -> list[Entity]:
    found: list[Entity] = []
    for label, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            if not any(e.start < m.end() and m.start() < e.end for e in found):
                found.append(Entity(label, m.start(), m.end(), m.group(0)))
    return sorted(found, key=lambda e: e.start)


def redact(text: str, language: str | None = None) -> str:
    for e in reversed(detect(text, language)):
        text = text[: e.start] + f"[{e.type}]" + text[e.end :]
    return text


def redact_known(text: str, values: list[str]) -> str:
    """Remove from `text` only these values (the personal data of the question)."""
    for value in sorted({v for v in values if v.strip()}, key=len, reverse=True):
        text = text.replace(value, "[REDACTED]")
    return text


def _key(data_dir: Path) -> bytes:
    path = data_dir / "pseudonym.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_bytes(secrets.token_bytes(32))
        path.chmod(0o600)
    return path.read_bytes()


def pseudonym(text: str, data_dir: Path) -> str:
    return hmac.new(_key(data_dir), text.encode(), hashlib.sha256).hexdigest()[:20]
