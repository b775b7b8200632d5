"""Retrieval metrics with Arabic-aware normalisation: excerpt recall@k, source hit@k, MRR, nDCG@10."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from assistant.textnorm import match_key
from assistant.tuning import TUNING


def excerpt_in(excerpt_key: str, chunk_key: str) -> bool:
    """Exact after normalisation; near-exact (OCR noise) for long excerpts."""
    if not excerpt_key:
        return False
    if excerpt_key in chunk_key:
        return True
    if len(excerpt_key) >= TUNING.fuzzy_min_chars and len(chunk_key) >= len(excerpt_key) * 0.8:
        return (
            fuzz.partial_ratio(excerpt_key, chunk_key, score_cutoff=TUNING.fuzzy_threshold)
            >= TUNING.fuzzy_threshold
        )
    return False


@dataclass
class RetrievalScores:
    excerpt_recall: float
    source_hit: float
    mrr: float
    ndcg10: float


def score_ranking(
    texts: Sequence[str], sources: Sequence[str], contexts: Sequence[str], gold_sources: Sequence[str], k: int
) -> RetrievalScores:
    keys = [match_key(t) for t in texts]
    ctx_keys = [match_key(c) for c in contexts]
    found = {i for i, ck in enumerate(ctx_keys) for key in keys[:k] if excerpt_in(ck, key)}
    recall = len(found) / len(ctx_keys) if ctx_keys else 0.0
    gold = set(gold_sources)
    hit = 1.0 if gold and any(s in gold for s in sources[:k]) else 0.0
    rel = [1 if any(excerpt_in(ck, key) for ck in ctx_keys) else 0 for key in keys[:10]]
    first = next((i + 1 for i, r in enumerate(rel) if r), None)
    mrr = 1.0 / first if first else 0.0
    dcg = sum(r / math.log2(i + 2) for i, r in enumerate(rel))
    ideal_n = min(len(ctx_keys), 10)
    idcg = sum(1 / math.log2(i + 2) for i in range(ideal_n))
    ndcg = dcg / idcg if idcg else 0.0
    return RetrievalScores(recall, hit, mrr, min(ndcg, 1.0))


def best_span(reference: str, text: str) -> tuple[str, float]:
    """The passage of `text` that best matches `reference` (rapidfuzz's partial-ratio alignment),
    with its score (0-100); the whole text when it is not longer than the reference."""
    if not reference or len(text) <= len(reference):
        return text, fuzz.ratio(reference, text)
    al = fuzz.partial_ratio_alignment(reference, text)
    if al is None:  # pragma: no cover - rapidfuzz returns None only below a score cutoff
        return text[: len(reference)], 0.0
    return text[al.dest_start : al.dest_end], al.score


def best_spans(texts: Sequence[str], references: Sequence[str]) -> list[tuple[str, list[str]]]:
    """For each retrieved text: its span that best matches any reference, and its best span for
    every reference. String-distance metrics (Ragas' non-LLM context recall and precision) compare
    these spans, not whole articles, with the short reference excerpts."""
    out: list[tuple[str, list[str]]] = []
    for text in texts:
        per_ref = [best_span(ref, text) for ref in references]
        best = max(per_ref, key=lambda s: s[1])[0] if per_ref else text
        out.append((best, [span for span, _ in per_ref]))
    return out
