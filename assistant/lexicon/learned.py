"""A bilingual lexicon learned from the index itself: the texts indexed in two languages (a
document and its `parallel`) are aligned article by article, and IBM Model 1 (Brown et al., 1993)
learns which index terms of one language translate which terms of the other. A question can then
be searched, with its own terms translated, in the texts that exist only in the other language
(a French question on the Arabic-only associations dahir).

Everything is computed from what is indexed, offline, in about a second for the corpus' 650
aligned articles; nothing is downloaded and nothing is stored beside the index."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assistant.sparse import SparseVector, term_id, terms

NULL = "<null>"


@dataclass(frozen=True)
class Translation:
    term: str
    probability: float


Table = dict[str, list[Translation]]


def content_terms(text: str, language: str) -> list[str]:
    """The stemmed index terms of a text that can be translated: numbers (law numbers, amounts)
    and the light Arabic forms are left out (they match as they are, or not at all)."""
    return [t for t in terms(text, language) if not t.startswith("~") and not t[0].isdigit()]


def ibm1(
    pairs: Sequence[tuple[Sequence[str], Sequence[str]]],
    iterations: int,
    min_df: int,
    keep: int,
    floor: float,
) -> Table:
    """Translation probabilities t(target | source) by IBM Model 1 expectation-maximisation over
    aligned (source terms, target terms) pairs, with an empty source word for target words that
    translate nothing. Only terms in at least `min_df` pairs take part. Returns, per source term,
    its `keep` most probable target terms of probability >= `floor`. Deterministic: same pairs, same
    table. Memory grows with the number of co-occurring (source, target) term pairs, not with the
    square of the vocabularies."""
    df_s = Counter(w for s, _ in pairs for w in set(s))
    df_t = Counter(w for _, t in pairs for w in set(t))
    vs = [NULL] + sorted(w for w, c in df_s.items() if c >= min_df)
    vt = sorted(w for w, c in df_t.items() if c >= min_df)
    if len(vs) < 2 or not vt:
        return {}
    s_index = {w: i for i, w in enumerate(vs)}
    t_index = {w: i for i, w in enumerate(vt)}
    n_s = len(vs)
    # every (target, source) co-occurrence of each pair, as positions into one array of probabilities
    rows: list[tuple[np.ndarray, np.ndarray, int, np.ndarray]] = []
    keys_all = []
    for src, tgt in pairs:
        s_ids = np.array([0] + sorted({s_index[w] for w in src if w in s_index}), dtype=np.int64)
        counted = Counter(t_index[w] for w in tgt if w in t_index)
        if not counted:
            continue
        t_ids = np.array(sorted(counted), dtype=np.int64)
        counts = np.array([counted[i] for i in t_ids], dtype=np.float64)
        keys = (t_ids[:, None] * n_s + s_ids[None, :]).ravel()
        keys_all.append(keys)
        rows.append((keys, counts, len(s_ids), t_ids))
    if not rows:
        return {}
    unique = np.unique(np.concatenate(keys_all))
    positions = [np.searchsorted(unique, keys) for keys, *_ in rows]
    source_of = unique % n_s
    prob = np.ones(len(unique), dtype=np.float64)  # uniform start: normalised by the first M-step
    for _ in range(iterations):
        expected = np.zeros(len(unique), dtype=np.float64)
        for pos, (_, counts, width, _t) in zip(positions, rows, strict=True):
            sub = prob[pos].reshape(-1, width)
            post = sub / sub.sum(axis=1, keepdims=True) * counts[:, None]
            np.add.at(expected, pos, post.ravel())
        totals = np.bincount(source_of, weights=expected, minlength=n_s)
        prob = expected / np.where(totals[source_of] > 0, totals[source_of], 1.0)
    table: dict[str, list[Translation]] = {}
    order = np.lexsort((-prob, source_of))  # by source, most probable first
    target_of = unique // n_s
    for i in order:
        s = int(source_of[i])
        if s == 0 or prob[i] < floor:
            continue
        found = table.setdefault(vs[s], [])
        if len(found) < keep:
            found.append(Translation(vt[int(target_of[i])], round(float(prob[i]), 4)))
    return table


def aligned_articles(payloads: Iterable[dict[str, Any]]) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(language a, language b) -> the (text in a, text in b) of every article present in a document
    and in its parallel document, joined on the canonical article key."""
    texts: dict[tuple[str, str], list[str]] = defaultdict(list)
    language: dict[str, str] = {}
    parallel: dict[str, str] = {}
    for p in payloads:
        source = str(p.get("source") or "")
        language.setdefault(source, str(p.get("doc_language") or p.get("language") or ""))
        if p.get("parallel"):
            parallel[source] = str(p["parallel"])
        key = p.get("article_key")
        if key:
            texts[(source, str(key))].append(str(p.get("text") or ""))
    out: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    done: set[frozenset[str]] = set()
    for a, b in sorted(parallel.items()):
        if frozenset((a, b)) in done or b not in language or language[a] == language[b]:
            continue
        done.add(frozenset((a, b)))
        la, lb = sorted((language[a], language[b]))
        first, second = (a, b) if language[a] == la else (b, a)
        for (source, key), chunks in sorted(texts.items()):
            if source == first and (second, key) in texts:
                out[(la, lb)].append((" ".join(chunks), " ".join(texts[(second, key)])))
    return dict(out)


@dataclass
class LearnedLexicon:
    """Translation tables between the indexed languages, learned from the parallel texts; rebuilt
    when the number of indexed chunks changes (as refusal.Vocabulary)."""

    iterations: int
    min_df: int
    keep: int
    floor: float
    tables: dict[tuple[str, str], Table] = field(default_factory=dict)
    single: dict[str, list[str]] = field(default_factory=dict)  # language -> doc ids with no parallel
    _count: int = -1
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def is_stale(self, count: int) -> bool:
        return count != self._count

    def refresh(self, count: int, scroll: Callable[[list[str] | None], Iterable[dict[str, Any]]]) -> None:
        """Relearn from the index. `scroll(doc_ids)` yields the payloads of those documents (None:
        every document). Only the texts of documents with a parallel are held in memory: one pass
        over every payload, a second over the documents named only as another's parallel."""
        with self._lock:
            if count == self._count:
                return
            rows: list[dict[str, Any]] = []
            doc_of: dict[str, str] = {}
            language: dict[str, str] = {}
            declared: set[tuple[str, str]] = set()
            for p in scroll(None):
                source = str(p.get("source") or "")
                doc_of.setdefault(source, str(p.get("doc_id") or ""))
                language.setdefault(source, str(p.get("doc_language") or p.get("language") or ""))
                if p.get("parallel"):
                    declared.add((source, str(p["parallel"])))
                    rows.append(p)
            # a parallel that is not indexed (withdrawn, never ingested) links nothing: the text is
            # then in one language only
            linked = {x for a, b in declared if a in doc_of and b in doc_of for x in (a, b)}
            rows = [p for p in rows if str(p.get("source")) in linked]
            held = {str(p.get("source")) for p in rows}
            others = sorted(doc_of[s] for s in linked - held if s in doc_of)
            if others:
                rows += list(scroll(others))
            tables: dict[tuple[str, str], Table] = {}
            for (la, lb), pairs in aligned_articles(rows).items():
                tokenised = [(content_terms(x, la), content_terms(y, lb)) for x, y in pairs]
                tables[(la, lb)] = ibm1(tokenised, self.iterations, self.min_df, self.keep, self.floor)
                swapped = [(y, x) for x, y in tokenised]
                tables[(lb, la)] = ibm1(swapped, self.iterations, self.min_df, self.keep, self.floor)
            single: dict[str, set[str]] = defaultdict(set)
            for source, doc_id in doc_of.items():
                if source not in linked:
                    single[language[source]].add(doc_id)
            self.tables = tables
            self.single = {lang: sorted(ids) for lang, ids in single.items()}
            self._count = count

    def translate(self, text: str, language: str, target: str) -> SparseVector | None:
        """The question's terms in `target`, weighted by their translation probability (summed over
        the question's words, at most 1 a term); None when nothing translates (no table: English,
        with no English text indexed, has none)."""
        table = self.tables.get((language, target))
        if not table:
            return None
        weights: dict[int, float] = {}
        for word in dict.fromkeys(content_terms(text, language)):
            for tr in table.get(word, []):
                tid = term_id(tr.term)
                weights[tid] = min(1.0, weights.get(tid, 0.0) + tr.probability)
        if not weights:
            return None
        ids = sorted(weights)
        return SparseVector(ids, [weights[i] for i in ids])

    def only_in(self, language: str) -> list[str]:
        """The documents in `language` that have no parallel text in another language."""
        return self.single.get(language, [])
