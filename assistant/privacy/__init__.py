"""Personal-data minimisation (CNDP, law 09-08): find personal data in a question, replace it, put
it back for the asker, and keep it out of what is stored.

The API other code calls (everything else in the package is internal):

- `detect(text, language=None) -> list[Entity]`: the personal data found (type, start, end, text,
  score), in text order, without overlaps. Types: PERSON, CIN, PHONE, EMAIL, RIB, CNSS, PASSPORT,
  DATE_OF_BIRTH, ADDRESS (`EntityType`; definitions in eval/privacy/README.md).
- `redact(text, language=None) -> str`: typed placeholders `[PERSON]`, `[PHONE]`... (irreversible).
- `Pseudonymiser(mode, key)`: `.pseudonymise(text) -> Pseudonymised(text, mapping, entities)`,
  with `PrivacyMode.PLACEHOLDERS` (`[PERSON_1]`) or `PrivacyMode.PSEUDONYMS` (`[PERSON_1a2b3c]`,
  keyed HMAC; the caller passes the key as bytes); `restore(text, mapping)` puts the values back.
- `redact_known(answer, values) -> str`: removes from an answer only the question's own values,
  never touching quoted law.
- `pseudonym(text, key) -> str`: keyed HMAC of a whole text.
- `StreamRestorer(mapping)`: `restore` for a streamed answer (a token split across pieces waits).

How detection works and what it is measured at: the package's modules (recognizers.py for the
Moroccan identifiers, birthdates.py, addresses.py, names.py, detector.py for Presidio and spaCy),
`dalil privacy eval` and the privacy section of docs/benchmarks.md.
"""

from __future__ import annotations

from assistant.modes import PrivacyMode
from assistant.privacy.detector import detect, redact
from assistant.privacy.entities import Entity, EntityType
from assistant.privacy.pseudonymise import (
    Pseudonymised,
    Pseudonymiser,
    StreamRestorer,
    pseudonym,
    redact_known,
    restore,
)

__all__ = [
    "Entity",
    "EntityType",
    "PrivacyMode",
    "Pseudonymised",
    "Pseudonymiser",
    "StreamRestorer",
    "detect",
    "pseudonym",
    "redact",
    "redact_known",
    "restore",
]
