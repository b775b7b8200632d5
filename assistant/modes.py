"""The closed vocabularies that travel between packages: answer modes, audiences, grounding
actions. String enums, so that JSON output and stored rows keep their plain values."""

from __future__ import annotations

from enum import StrEnum


class AnswerMode(StrEnum):
    """How an answer is produced."""

    AUTO = "auto"  # a request only: llm when a model is configured, else extractive
    LLM = "llm"  # a model writes the answer from the passages; citations are then checked
    EXTRACTIVE = "extractive"  # verbatim quotes of the best passages, no model


class SearchMode(StrEnum):
    """Which retrieval legs run."""

    HYBRID = "hybrid"  # dense + sparse (+ cross-language legs), fused with RRF in the engine
    DENSE = "dense"  # the dense leg alone: its top score is the question/chunk cosine similarity
    SPARSE = "sparse"  # the BM25-style sparse leg alone


class Audience(StrEnum):
    """Who may read a collection (and so who is asking)."""

    PUBLIC = "public"  # citizens: public collections only
    AGENTS = "agents"  # signed-in public agents: every collection


class Role(StrEnum):
    """What an API key of the service may do (assistant/apikeys.py, server/auth.py)."""

    CITIZEN = "citizen"  # asks and searches public collections only
    AGENT = "agent"  # a public agent: every collection
    OWNER = "owner"  # a content owner: every collection, and manages documents
    EVALUATOR = "evaluator"  # runs evaluations: every collection, changes no document

    @property
    def audience(self) -> Audience:
        return Audience.PUBLIC if self is Role.CITIZEN else Audience.AGENTS


class GroundingAction(StrEnum):
    """What the grounding check did with an answer."""

    NONE = "none"  # a model answer kept as written
    REPAIRED = "repaired"  # kept after dropping citations to sources that were not given
    DOWNGRADED = "downgraded"  # rejected: replaced by the extractive answer
    FALLBACK = "fallback"  # the model failed: the extractive answer instead
    EXTRACTIVE = "extractive"  # an extractive answer (quotes are verbatim by construction)
    REFUSED = "refused"  # no answer: the texts do not cover the question


class PrivacyMode(StrEnum):
    """How the personal data of a question is replaced when it must leave the asker's session
    (assistant/privacy/pseudonymise.py)."""

    PLACEHOLDERS = "placeholders"  # typed, numbered per text: [PERSON_1], [PHONE_1]
    PSEUDONYMS = "pseudonyms"  # keyed HMAC of the value: [PERSON_1a2b3c], stable under one key


def parse_audience(value: str | Audience) -> Audience:
    from assistant.errors import QueryError

    try:
        return Audience(value)
    except ValueError as exc:
        raise QueryError("audience must be public or agents") from exc
