"""Hybrid multilingual retrieval: dense + sparse fused with RRF inside the engine, exact
references boosted, validity in time applied, audience always enforced."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from assistant.compound import question_parts
from assistant.corpus import load_collections
from assistant.dates import FAR_FUTURE, date_int, parse_date
from assistant.errors import QueryError
from assistant.index import Index
from assistant.language import LANGUAGES, detect
from assistant.lexicon import darija_to_msa, translations
from assistant.lexicon.learned import LearnedLexicon
from assistant.modes import Audience, SearchMode, parse_audience
from assistant.payload import ChunkPayload, as_payload
from assistant.references import (
    IndexedName,
    References,
    TextName,
    find_references,
    indexed_names,
    text_name,
    unindexed_mentions,
)
from assistant.refusal import Vocabulary
from assistant.registry import Registry, doc_id_for
from assistant.rerank import NoRerank, Reranker
from assistant.store import DENSE, SPARSE, Hit, Leg, Where, ranked

_ALNUM = re.compile(r"\w", re.UNICODE)


@dataclass
class Result:
    rank: int
    score: float
    chunk_id: str
    doc_id: str
    source: str
    title: str
    article: str | None
    page: int | None
    language: str
    text: str
    in_force: bool = True
    superseded_by: str | None = None
    parallel: dict[str, Any] | None = None
    payload: ChunkPayload = field(default_factory=lambda: as_payload(None), repr=False)

    def as_dict(self, with_payload: bool = False) -> dict[str, Any]:
        out = {
            "rank": self.rank,
            "score": round(self.score, 6),
            "chunk_id": self.chunk_id,
            "doc_id": self.doc_id,
            "source": self.source,
            "title": self.title,
            "article": self.article,
            "page": self.page,
            "language": self.language,
            "text": self.text,
            "in_force": self.in_force,
            "superseded_by": self.superseded_by,
            "parallel": self.parallel,
            "reference": self.payload.get("reference"),
            "hierarchy": self.payload.get("hierarchy"),
            "pages": self.payload.get("pages"),
            "collection": self.payload.get("collection"),
        }
        if with_payload:
            out["payload"] = self.payload
        return out


@dataclass
class SearchResponse:
    query: str
    language: str
    results: list[Result]
    reason: str | None = None
    references: References = field(default_factory=References)
    timings_ms: dict[str, float] = field(default_factory=dict)
    date: str | None = None


class Retriever:
    def __init__(self, index: Index, reranker: Reranker | None = None) -> None:
        self.index = index
        self.settings = index.settings
        self.reranker = reranker or NoRerank()
        self.tuning = self.settings.tuning
        self.collections = load_collections(self.settings.definitions_dir)
        self._present_languages: set[str] | None = None
        self._vocabulary = Vocabulary()
        self._title_names: list[IndexedName] = []  # the indexed documents' titles (vocabulary())
        t = self.tuning
        self._lexicon = LearnedLexicon(
            t.learned_lexicon_iterations,
            t.learned_lexicon_min_df,
            t.learned_lexicon_keep,
            t.learned_lexicon_floor,
        )
        self.known_laws = {
            n for c in self.collections.values() for d in c.documents.values() for n in d.law_numbers
        }
        self.text_names: list[TextName] = [
            named
            for c in self.collections.values()
            for d in c.documents.values()
            if d.law_numbers
            for lang, names in d.names.items()
            for n in names
            if (named := text_name(n, lang, d.law_numbers[0])) is not None
        ]
        self.indexed_names: list[IndexedName] = []
        for c in self.collections.values():
            for d in c.documents.values():
                called = {lang: list(names) for lang, names in d.names.items()}
                called.setdefault(d.language or c.language, []).extend(x for x in (d.title, d.reference) if x)
                self.indexed_names += indexed_names(called)
        self.known_titles = [
            d.title for c in self.collections.values() for d in c.documents.values() if d.title
        ]

    def vocabulary(self) -> Vocabulary:
        """Every index term of the indexed chunks (refusal signals: words no text contains), rebuilt
        when the number of chunks changes."""
        count = self.index.store.count()
        if self._vocabulary.is_stale(count):
            titles: dict[str, tuple[str, str]] = {}

            def rows() -> Iterator[dict[str, Any]]:
                for p in self.index.store.scroll():
                    if p.get("title"):
                        titles.setdefault(p["doc_id"], (p["title"], p.get("doc_language") or p["language"]))
                    yield dict(p)

            with self.index.lock:
                self._vocabulary.refresh(count, rows())
            if titles:
                self._title_names = [
                    n for title, lang in titles.values() for n in indexed_names({lang: [title]})
                ]
        return self._vocabulary

    def unindexed_mentions(self, question: str, language: str) -> list[str]:
        """The codes and constitutions the question names by a title no indexed text has: checked
        against the collection definitions' names and titles, then, when one seems missing, against
        the titles of every indexed document (uploads included)."""
        found = unindexed_mentions(question, language, self.indexed_names)
        if found:
            self.vocabulary()
            found = unindexed_mentions(question, language, self.indexed_names + self._title_names)
        return found

    def warm(self) -> None:
        """Build now what the first question would otherwise wait for (the index's vocabulary and
        the learned lexicon: about two seconds on the corpus)."""
        self.vocabulary()
        self.learned_lexicon()

    def learned_lexicon(self) -> LearnedLexicon:
        """The lexicon learned from the parallel texts indexed (assistant/lexicon/learned.py),
        relearned when the number of chunks changes."""
        count = self.index.store.count()
        if self._lexicon.is_stale(count):
            with self.index.lock:
                store = self.index.store
                self._lexicon.refresh(
                    count, lambda ids: (dict(p) for p in store.scroll(Where(doc_ids=ids) if ids else None))
                )
        return self._lexicon

    def _learned_leg(
        self, text: str, dense: Any, language: str, other: str, where: Where, depth: int
    ) -> Leg | None:
        """The question's terms translated into `other` by the learned lexicon, searched only in the
        texts that exist in `other` alone: a text also indexed in the question's language is found
        there (its other-language version would only crowd the top k)."""
        weight = self.tuning.learned_lexicon_weight
        if weight <= 0:
            return None
        lexicon = self.learned_lexicon()
        single = lexicon.only_in(other)
        if where.doc_ids is not None:
            single = [d for d in single if d in set(where.doc_ids)]
        vector = lexicon.translate(text, language, other) if single else None
        if vector is None:
            return None
        margin = self.tuning.learned_lexicon_margin
        if margin < 1 and language in self._languages():
            scoped = Where(**{**where.__dict__, "languages": [other], "doc_ids": single})
            own = self.index.store.search(
                [Leg(DENSE, dense, Where(**{**where.__dict__, "languages": [language]}), 1)], limit=1
            )
            theirs = self.index.store.search([Leg(DENSE, dense, scoped, 1)], limit=1)
            if not theirs or (own and theirs[0].score < own[0].score - margin):
                return None
        return Leg(
            SPARSE,
            vector,
            Where(**{**where.__dict__, "languages": [other], "doc_ids": single}),
            depth,
            weight,
        )

    def known_collections(self) -> set[str]:
        names = set(self.collections)
        registry = Registry(self.settings.registry_path)
        try:
            names |= {r.collection for r in registry.all()}
        finally:
            registry.close()
        return names

    def search(
        self,
        query: str,
        k: int | None = None,
        date: str | dt.date | None = None,
        collections: list[str] | None = None,
        languages: list[str] | None = None,
        audience: Audience | str = Audience.PUBLIC,
        exclude_superseded: bool = False,
        mode: SearchMode = SearchMode.HYBRID,
        asked: str | None = None,
    ) -> SearchResponse:
        """`asked`: when `query` is a follow-up merged with earlier turns, the turn itself. A text the
        earlier turns call by its name is not taken for the text asked about ("Et pour une employée de
        maison ?" after a question on the Code du travail)."""
        t0 = time.perf_counter()
        tuning = self.tuning
        k = tuning.top_k if k is None else k
        text = (query or "").strip()
        on = parse_date(date)
        if not text:
            raise QueryError("empty query: type a question")
        if len(text) > tuning.max_query_chars:
            raise QueryError(
                f"query too long ({len(text)} characters, at most {tuning.max_query_chars}): ask a shorter question"
            )
        if k < 1 or k > tuning.max_k:
            raise QueryError(f"k must be between 1 and {tuning.max_k}")
        if collections:
            unknown = sorted(set(collections) - self.known_collections())
            if unknown:
                raise QueryError(
                    f"unknown collection(s) {', '.join(unknown)}; known: {', '.join(sorted(self.known_collections()))}"
                )
        audience = parse_audience(audience)
        language = detect(text).language
        if not _ALNUM.search(text):
            return SearchResponse(
                text, language, [], reason="the query has no words to search for", date=on.isoformat()
            )
        where = Where(
            collections=collections,
            languages=languages,
            audiences=[Audience.PUBLIC.value] if audience == Audience.PUBLIC else None,
            in_force_on=date_int(on) if exclude_superseded else None,
        )
        refs = find_references(text, self.known_laws, self.text_names, language)
        if asked is not None:
            own = find_references(asked, self.known_laws, self.text_names, language)
            by_name = find_references(text, None, self.text_names, language).laws
            plain = find_references(text, self.known_laws)
            refs = References(
                [n for n in refs.laws if n in own.laws or n in plain.laws or n not in by_name],
                refs.articles,
                refs.in_passing,
            )
        refs.unindexed = self.unindexed_mentions(text if asked is None else asked, language)
        pool = max(k * tuning.candidates_per_result, tuning.min_candidates)
        t_embed = time.perf_counter()
        results, t_search = self._ranking(text, language, refs, where, mode, pool, date_int(on))
        reserve = mode == SearchMode.HYBRID and tuning.compound_reserved > 0
        parts = question_parts(text, language) if reserve else []
        if parts:
            # a compound question: each part's best texts keep a place in the final top k
            rankings = [
                self._ranking(
                    part,
                    language,
                    find_references(part, self.known_laws, self.text_names, language),
                    where,
                    mode,
                    pool,
                    date_int(on),
                )[0]
                for part in parts
            ]
            results = _keep_room(results, rankings, tuning.compound_reserved, tuning.compound_after)
        results = results[:k]
        for i, r in enumerate(results, start=1):
            r.rank = i
        self._attach_parallels(results, where)
        t_end = time.perf_counter()
        return SearchResponse(
            text,
            language,
            results,
            reason=None if results else "no indexed text matches the filters",
            references=refs,
            timings_ms={
                "embed": round((t_search - t_embed) * 1000, 2),
                "search": round((t_end - t_search) * 1000, 2),
                "total": round((t_end - t0) * 1000, 2),
            },
            date=on.isoformat(),
        )

    def _ranking(
        self, text: str, language: str, refs: References, where: Where, mode: SearchMode, pool: int, on: int
    ) -> tuple[list[Result], float]:
        """Every candidate for one question, best first, validity applied (and when the search
        itself started, for the timings)."""
        # a Darija question is searched with the Modern Standard Arabic of its Darija words too
        # (lexicon/darija.yaml): the texts are in MSA ("شحال كيتخلصو" -> "كم تؤدى")
        msa = darija_to_msa(text) if language == "ar" and detect(text).dialect == "darija" else []
        query = " ".join([text, *msa])
        dense = self.index.embed_query(query) if mode in (SearchMode.HYBRID, SearchMode.DENSE) else None
        sparse = (
            self.index.sparse.encode_query(query, language)
            if mode in (SearchMode.HYBRID, SearchMode.SPARSE)
            else None
        )
        t_search = time.perf_counter()
        with self.index.lock:
            hits = self.index.store.search(self._legs(text, dense, sparse, where, language, pool), limit=pool)
            if refs and mode == SearchMode.HYBRID:
                hits = self._boost_references(hits, refs, text, language, dense, sparse, where, pool)
        hits = self.reranker.rerank(text, hits)
        # only a text named by its number escapes the demotion: a name successive texts share ("the
        # minimum wage decree") leaves the one in force first
        numbered = set(refs.asked) & set(find_references(text, self.known_laws).laws)
        return self._apply_validity(hits, on, numbered), t_search

    def _languages(self) -> set[str]:
        if self._present_languages is None:
            self._present_languages = {
                lang for lang in LANGUAGES if self.index.store.count(Where(languages=[lang])) > 0
            }
        return self._present_languages

    def _legs(
        self,
        text: str,
        dense: Any,
        sparse: Any,
        where: Where,
        language: str,
        pool: int,
        cross_weight: float | None = None,
    ) -> list[Leg]:
        """Dense and sparse over everything, plus one dense leg per other language: a French question
        then also brings the best Arabic articles (sparse terms cannot cross languages, and the
        multilingual encoder ranks same-language chunks higher)."""
        depth = max(self.tuning.min_leg_depth, pool)
        legs = []
        if dense is not None:
            legs.append(Leg(DENSE, dense, where, depth))
        if sparse is not None and sparse.indices:
            legs.append(Leg(SPARSE, sparse, where, depth))
        if dense is not None and sparse is not None and not where.languages:
            expansions = translations(text, language)
            others = sorted(self._languages() - {language})
            lifted = self._lifted_languages(dense, where, language, others) if cross_weight is None else set()
            for other in others:
                scoped = Where(**{**where.__dict__, "languages": [other]})
                weight = self.tuning.cross_language_weight if cross_weight is None else cross_weight
                if cross_weight is None and language not in self._languages():
                    # an English question and no English text: every language is another one
                    weight = self.tuning.cross_language_absent_weight
                if other in lifted:
                    weight = self.tuning.cross_language_lifted_weight
                if weight > 0:
                    legs.append(Leg(DENSE, dense, scoped, depth, weight))
                if weight > 0 and expansions.get(other):
                    translated = self.index.sparse.encode_query(" ".join(expansions[other]), other)
                    if translated.indices:
                        legs.append(Leg(SPARSE, translated, scoped, depth, weight))
                learned = self._learned_leg(text, dense, language, other, where, depth)
                if learned is not None:
                    legs.append(learned)
        return legs

    def _lifted_languages(self, dense: Any, where: Where, language: str, others: list[str]) -> set[str]:
        """The other languages whose closest chunk is about as close to the question as the closest
        chunk in its own language: the answer may well be only there (a French question on the
        Arabic-only associations dahir), so their legs weigh as much as the question's own."""
        margin = self.tuning.cross_language_lift_margin
        if margin <= 0:
            return set()

        def best(lang: str) -> float:
            scoped = Where(**{**where.__dict__, "languages": [lang]})
            hits = self.index.store.search([Leg(DENSE, dense, scoped, 1)], limit=1)
            return hits[0].score if hits else 0.0

        if language not in self._languages():
            return set()  # no text in the question's language: see cross_language_absent_weight
        own = best(language)
        return {lang for lang in others if best(lang) >= own - margin}

    def _legs_in_named_text(
        self, text: str, dense: Any, sparse: Any, flt: Where, language: str, pool: int
    ) -> list[Leg]:
        """Search inside the text a question names. When that text is not in the question's language,
        the question's own terms cannot match it: its glossary and learned translations do the lexical
        part."""
        depth = max(self.tuning.min_leg_depth, pool)
        text_languages = {
            lang
            for lang in self._languages()
            if self.index.store.count(Where(**{**flt.__dict__, "languages": [lang]}))
        }
        if language in text_languages or sparse is None:
            return self._legs(
                text, dense, sparse, flt, language, pool, cross_weight=self.tuning.named_text_cross_weight
            )
        legs = [Leg(DENSE, dense, flt, depth)] if dense is not None else []
        expansions = translations(text, language)
        for lang in sorted(text_languages):
            terms_ = expansions.get(lang)
            translated = self.index.sparse.encode_query(" ".join(terms_), lang) if terms_ else None
            scoped = Where(**{**flt.__dict__, "languages": [lang]})
            if translated is not None and translated.indices:
                legs.append(Leg(SPARSE, translated, scoped, depth))
            # inside the one text asked about, its translated terms are the only lexical leg: they
            # weigh as the glossary's (learned_lexicon_weight is for searching beside the question's
            # own language; 0 turns both off)
            learned = self.learned_lexicon().translate(text, language, lang)
            if learned is not None and self.tuning.learned_lexicon_weight > 0:
                legs.append(Leg(SPARSE, learned, scoped, depth))
        return legs

    def _boost_references(
        self,
        hits: list[Hit],
        refs: References,
        text: str,
        language: str,
        dense: Any,
        sparse: Any,
        where: Where,
        pool: int,
    ) -> list[Hit]:
        """A named text and article go first; a named text alone lifts its chunks (RRF merge)."""
        exact: list[Hit] = []
        if refs.asked and refs.articles:
            flt = Where(**{**where.__dict__, "ref_keys": refs.asked, "article_keys": refs.articles})
            exact = self.index.store.query(
                dense,
                sparse,
                flt,
                limit=self.tuning.exact_reference_limit,
                prefetch=self.tuning.min_leg_depth,
            )
        by_law: list[Hit] = []
        if refs.laws:
            flt = Where(**{**where.__dict__, "ref_keys": refs.laws})
            by_law = self.index.store.search(
                self._legs_in_named_text(text, dense, sparse, flt, language, pool), limit=pool
            )
        elif refs.articles:
            by_law = [h for h in hits if h.payload.get("article_key") in refs.articles]
        fused: dict[str, float] = {}
        keep: dict[str, Hit] = {}
        t = self.tuning
        # a law quoted in passing ("les salariés soumis à la loi 65-99 …") only nudges its text up
        named_weight = t.named_text_weight if refs.asked or not refs.laws else t.passing_text_weight
        for weight, ranking in ((1.0, hits), (named_weight, by_law)):
            for rank, h in enumerate(ranking):
                fused[h.chunk_id] = fused.get(h.chunk_id, 0.0) + weight / (t.rrf_k + rank + 1)
                keep.setdefault(h.chunk_id, h)
        for rank, h in enumerate(exact):
            fused[h.chunk_id] = fused.get(h.chunk_id, 0.0) + t.exact_reference_bonus + 1.0 / (rank + 1)
            keep.setdefault(h.chunk_id, h)
        return ranked([Hit(c, fused[c], keep[c].payload) for c in fused])

    def _apply_validity(self, hits: list[Hit], on: int, named: set[str] | None = None) -> list[Result]:
        """Texts not in force on the date rank below the text in force and never above their successor,
        except a text the question names ("la loi 19-12 s'appliquait-elle déjà en 2016 ?": its own
        articles on its entry into force answer). `hits` come best first with ties by chunk id
        (`ranked`); equal keys keep that order."""
        results = [self._result(h, on) for h in hits]
        first_of_doc: dict[str, int] = {}
        for i, r in enumerate(results):
            first_of_doc.setdefault(r.source, i)
        keys = []
        for i, r in enumerate(results):
            if r.in_force or (named and named & set(r.payload.get("ref_keys") or [])):
                keys.append(float(i))
                continue
            key = i + self.tuning.not_in_force_demotion
            successor = r.superseded_by
            if successor and successor in first_of_doc:
                key = max(key, first_of_doc[successor] + 0.5)
            keys.append(key)
        order = sorted(range(len(results)), key=lambda i: (keys[i], i))
        return [results[i] for i in order]

    @staticmethod
    def _result(h: Hit, on: int) -> Result:
        p = h.payload
        in_force = int(p.get("valid_from") or 0) <= on < int(p.get("valid_until") or FAR_FUTURE)
        return Result(
            rank=0,
            score=h.score,
            chunk_id=h.chunk_id,
            doc_id=p.get("doc_id", ""),
            source=p.get("source", ""),
            title=p.get("title") or "",
            article=p.get("article"),
            page=p.get("page"),
            language=p.get("language", ""),
            text=p.get("text", ""),
            in_force=in_force,
            superseded_by=p.get("superseded_by") if not in_force else None,
            payload=p,
        )

    def _attach_parallels(self, results: list[Result], where: Where) -> None:
        """Name the same article in the parallel text (other language), one scroll for all results."""
        wanted: dict[tuple[str, str], list[Result]] = {}
        head = results[: self.tuning.parallel_lookup_results]
        parallels = sorted({p for r in head if (p := r.payload.get("parallel"))})
        if not parallels:
            return
        registry = Registry(self.settings.registry_path)
        try:
            ids = registry.ids_for_sources(parallels)  # a document's id is the registry's to give
        finally:
            registry.close()
        for r in head:
            parallel = r.payload.get("parallel")
            key = r.payload.get("article_key")
            if parallel and key:
                wanted.setdefault((ids.get(parallel) or doc_id_for(parallel), key), []).append(r)
        if not wanted:
            return
        flt = Where(
            doc_ids=sorted({d for d, _ in wanted}),
            article_keys=sorted({k for _, k in wanted}),
            audiences=where.audiences,
        )
        for payload in self.index.store.scroll(flt):
            pair = (payload["doc_id"], payload["article_key"] or "")
            for r in wanted.pop(pair, []):
                r.parallel = {
                    "doc_id": pair[0],
                    "source": r.payload.get("parallel"),
                    "article": payload.get("article"),
                    "chunk_id": payload.get("chunk_id"),
                    "language": payload.get("doc_language"),
                }
            if not wanted:
                break


def _keep_room(whole: list[Result], parts: list[list[Result]], reserved: int, after: int = 1) -> list[Result]:
    """The whole question's ranking with, after its `after` best results, the `reserved` best results
    of each part (round by round), then the rest of the whole ranking: no part is crowded out of the
    top k by the texts of another. Deterministic: the rankings themselves are."""
    head = whole[:after]
    for depth in range(reserved):
        head += [ranking[depth] for ranking in parts if depth < len(ranking)]
    seen: set[str] = set()
    out: list[Result] = []
    for r in head + whole[after:]:
        if r.chunk_id not in seen:
            seen.add(r.chunk_id)
            out.append(r)
    return out
