"""Checks of an ingested corpus: are the evaluation excerpts each inside one chunk, do legal
chunks carry article labels."""

from __future__ import annotations

from typing import Any

from assistant.store import VectorStore
from assistant.textnorm import match_key
from eval.dataset import Sample
from eval.retrieval_metrics import excerpt_in


def excerpt_coverage(store: VectorStore, samples: list[Sample]) -> dict[str, Any]:
    by_source: dict[str, list[str]] = {}
    for p in store.scroll():
        by_source.setdefault(p.get("source", ""), []).append(match_key(p.get("text", "")))
    total, found, missing = 0, 0, []
    for s in samples:
        files = s.context_files or [s.source_file or ""] * len(s.reference_contexts)
        for excerpt, source in zip(s.reference_contexts, files, strict=False):
            total += 1
            key = match_key(excerpt)
            chunks = by_source.get(source or "", [])
            if any(excerpt_in(key, c) for c in chunks):
                found += 1
            else:
                missing.append({"id": s.id, "source": source, "excerpt": excerpt[:120]})
    return {"total": total, "found": found, "share": found / total if total else 0.0, "missing": missing}


def article_label_share(store: VectorStore) -> dict[str, Any]:
    """Share of chunks of legal texts (documents with at least one article) that carry an article label."""
    per_doc: dict[str, list[bool]] = {}
    for p in store.scroll():
        per_doc.setdefault(p["doc_id"], []).append(bool(p.get("article")))
    legal = {d: flags for d, flags in per_doc.items() if any(flags)}
    total = sum(len(f) for f in legal.values())
    labelled = sum(sum(f) for f in legal.values())
    return {
        "legal_documents": len(legal),
        "chunks": total,
        "labelled": labelled,
        "share": labelled / total if total else 0.0,
        "per_document": {d: round(sum(f) / len(f), 3) for d, f in legal.items()},
    }
