"""The chunk payload: what the index stores beside each chunk's vectors. Ingestion writes it
(ingest/sync.py), retrieval, evaluation, the app and the benchmarks read it; this is its one
definition. A change here is a change of the index format: bump the sparse encoder name or rebuild."""

from __future__ import annotations

from typing import Any, TypedDict, cast


class ChunkPayload(TypedDict):
    # identity
    chunk_id: str  # "<doc_id>:<article key or kind>:<part>:<text hash>", stable while the text is
    doc_id: str  # registry id of the document
    version: int  # the document's version in the registry (old versions are deleted after a write)
    content_hash: str  # sha256 of the chunk text, 16 hex characters
    # where it may be seen
    collection: str
    audience: str  # an Audience value: "public" or "agents"
    # languages
    language: str  # of the chunk (fr | ar | en)
    doc_language: str  # of the whole document
    # the document
    title: str
    reference: str | None  # official reference ("Dahir n° 1-03-194 du 11 septembre 2003")
    ref_keys: list[str]  # law numbers of the document, normalised ("65-99")
    source: str  # path relative to the corpus folder ("maroc_fr/...pdf")
    source_url: str | None
    parallel: str | None  # source of the same text in the other language
    supersedes: list[str]
    superseded_by: str | None
    in_force_from: str | None  # ISO date
    in_force_until: str | None  # ISO date
    valid_from: int  # yyyymmdd, 0 when unknown
    valid_until: int  # yyyymmdd, FAR_FUTURE when open-ended
    # the place in the document
    article: str | None  # as printed ("Article 19", "المادة 19")
    article_key: str | None  # canonical ("19", "6-bis")
    article_title: str | None
    hierarchy: str  # "Livre I > Titre II > Chapitre 3"
    pages: list[int]
    page: int | None  # first page
    char_start: int
    char_end: int
    kind: str  # article | preamble | section
    part: int  # 1-based part of a long article split in several chunks
    parts: int
    # the text itself
    text: str
    # instructions aimed at a model found in the text (assistant/injection.py): the names of the
    # matched patterns, empty when clean. Chunks written before this field read back as [].
    injection: list[str]


def as_payload(stored: dict[str, Any] | None) -> ChunkPayload:
    """A payload read back from an engine (engines return plain dicts). Fields added after a chunk
    was written get their empty value (`injection`: [])."""
    payload = dict(stored or {})
    if stored:
        payload.setdefault("injection", [])
    return cast(ChunkPayload, payload)


def embed_input(
    title: str | None, path: str | None, article: str | None, article_title: str | None, text: str
) -> str:
    """What the dense encoder reads: the chunk with its document title and place in the text."""
    head = " — ".join(x for x in (title, path, article, article_title) if x)
    return f"{head}\n{text}"


def embed_input_of(payload: ChunkPayload) -> str:
    """The dense encoder's input for a stored chunk (exactly what ingestion embedded)."""
    return embed_input(
        payload["title"], payload["hierarchy"], payload["article"], payload["article_title"], payload["text"]
    )
