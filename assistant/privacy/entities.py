"""What the detector finds: an `Entity` of one of nine types, and how overlapping finds are settled."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class EntityType(StrEnum):
    """The personal-data types, with the label definitions of eval/privacy/README.md."""

    PERSON = "PERSON"  # a private person's name, without its title (M., Mme, السيد)
    CIN = "CIN"  # national identity card: 1-2 letters + 4-6 digits
    PHONE = "PHONE"  # any phone number, its international prefix included
    EMAIL = "EMAIL"
    RIB = "RIB"  # 24-digit Moroccan RIB in any grouping, or an IBAN
    CNSS = "CNSS"  # social-security affiliation number: 9 digits
    PASSPORT = "PASSPORT"
    DATE_OF_BIRTH = "DATE_OF_BIRTH"  # a date that is a birth date (the date only)
    ADDRESS = "ADDRESS"  # a personal postal address, street to city


@dataclass(frozen=True)
class Entity:
    """One piece of personal data: its type, its character offsets in the text, the text itself,
    and a confidence in [0, 1] (see `Tuning.privacy_scores`)."""

    type: str
    start: int
    end: int
    text: str
    score: float = 1.0


# Overlapping finds are settled tier by tier: formatted identifiers first (their formats are
# exact), then addresses (which contain words that are also names: "5 Rue Mohammed Diouri"),
# then names. Inside a tier the higher score wins, then the longer span.
_TIER = {
    EntityType.EMAIL: 0,
    EntityType.RIB: 0,
    EntityType.PHONE: 0,
    EntityType.PASSPORT: 0,
    EntityType.CIN: 0,
    EntityType.CNSS: 0,
    EntityType.DATE_OF_BIRTH: 0,
    EntityType.ADDRESS: 1,
    EntityType.PERSON: 2,
}


def resolve_overlaps(found: Iterable[Entity]) -> list[Entity]:
    """Non-overlapping entities, in text order (see _TIER for which of two overlapping ones stays)."""
    ranked = sorted(found, key=lambda e: (_TIER.get(EntityType(e.type), 3), -e.score, -(e.end - e.start)))
    kept: list[Entity] = []
    for e in ranked:
        if e.end > e.start and not any(e.start < k.end and k.start < e.end for k in kept):
            kept.append(e)
    return sorted(kept, key=lambda e: e.start)
