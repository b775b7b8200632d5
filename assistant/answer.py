"""Grounded answers: retrieve, refuse early when nothing relevant, generate (llm) or quote
(extractive), check grounding, fall back to extractive on any model failure."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from assistant.compound import question_parts
from assistant.dates import FAR_FUTURE, parse_date
from assistant.errors import LLMError
from assistant.followup import standalone_question
from assistant.generation import grounding
from assistant.generation.chat import ChatModel, Message
from assistant.injection import detect as detect_instructions
from assistant.injection import neutralise
from assistant.language import detect
from assistant.messages import (
    Answer,
    AnswerEvent,
    Citation,
    FinalEvent,
    MetaEvent,
    ResetEvent,
    TokenEvent,
)
from assistant.modes import AnswerMode, Audience, GroundingAction, SearchMode
from assistant.privacy import Pseudonymiser, StreamRestorer, restore
from assistant.prompts import load_prompts
from assistant.references import find_references, unindexed_governing_texts
from assistant.refusal import Decision, decide, signals
from assistant.retrieval import Result, Retriever, SearchResponse
from assistant.sparse import terms
from assistant.temporal import asked_date
from assistant.tuning import TUNING


def relevance(retriever: Retriever, question: str, where_kwargs: dict[str, Any]) -> float:
    """Cosine similarity of the question with the closest chunk the user may see."""
    resp = retriever.search(question, k=1, mode=SearchMode.DENSE, **where_kwargs)
    return resp.results[0].score if resp.results else 0.0


class Assistant:
    def __init__(
        self, retriever: Retriever, chat: ChatModel | None = None, outbound: Pseudonymiser | None = None
    ) -> None:
        """`outbound`: how a question's personal data is replaced before it is sent to a remote
        model (None: the model is local, or on a server the state controls and allowed to see it)."""
        self.retriever = retriever
        self.chat = chat
        self.outbound = outbound
        self.settings = retriever.settings
        self.tuning = self.settings.tuning

    # ------------------------------------------------------------------ public API
    def ask(self, question: str, **kwargs: Any) -> Answer:
        for event in self.ask_stream(question, **kwargs):
            if isinstance(event, FinalEvent):
                return event.answer
        raise AssertionError("ask_stream ended without a final event")

    def ask_stream(
        self,
        question: str,
        mode: AnswerMode | str | None = None,
        date: str | None = None,
        collections: list[str] | None = None,
        audience: Audience | str = Audience.PUBLIC,
        history: list[Message] | None = None,
        k: int | None = None,
    ) -> Iterator[AnswerEvent]:
        """A MetaEvent, TokenEvents (and ResetEvents when a model answer is replaced), then one FinalEvent."""
        t0 = time.perf_counter()
        detected = detect(question)
        lang = detected.language
        prompts = load_prompts(lang)
        mode = self._mode(mode)
        history = (history or [])[-self.tuning.history_turns :]
        to_model = self._to_model(question, history, mode, lang)
        standalone = self._standalone(question, history, mode, to_model)
        # a date in the question ("en 2024", "سنة 2024") is the search's validity date when none is given
        found = asked_date(standalone) if date is None else None
        search_date = found.date.isoformat() if found else date
        t_r = time.perf_counter()
        resp = self.retriever.search(
            standalone,
            k=k or self.tuning.top_k,
            date=search_date,
            collections=collections,
            audience=audience,
            asked=question if standalone != question else None,
        )
        retrieval_ms = (time.perf_counter() - t_r) * 1000
        results = resp.results[: self.tuning.context_k]
        answer = Answer(
            question=question,
            language=lang,
            answer="",
            mode=mode,
            refused=False,
            model=self.chat.name if (mode == AnswerMode.LLM and self.chat) else None,
            dialect=detected.dialect,
            standalone_question=standalone if standalone != question else None,
            retrieved=resp.results,
        )
        answer.relevance = (
            relevance(
                self.retriever,
                standalone,
                {"date": search_date, "collections": collections, "audience": audience},
            )
            if resp.results
            else 0.0
        )
        asked = found.date if found else (parse_date(date) if date else None)
        decision = self._decision(standalone, lang, answer.relevance, resp, asked)
        refusal = self._refusal(decision, resp, prompts)
        yield MetaEvent(mode=mode, language=lang, model=answer.model)
        if refusal is not None:
            answer.refused = True
            answer.answer = refusal
            answer.grounding = grounding.GroundingReport(action=GroundingAction.REFUSED).as_dict()
            answer.grounding["decision"] = _decision_record(decision)
            yield TokenEvent(refusal)
            answer.timings_ms = self._timings(t0, retrieval_ms, 0.0)
            yield FinalEvent(answer)
            return
        t_g = time.perf_counter()
        if mode == AnswerMode.LLM and self.chat is not None:
            yield from self._generate(answer, standalone, results, prompts, history)
        else:
            self._extractive(answer, standalone, results, prompts, decision)
            answer.notice = prompts["notice_extractive"]
            yield from _chunks(answer.answer)
        answer.grounding["decision"] = _decision_record(decision)
        answer.timings_ms = self._timings(t0, retrieval_ms, (time.perf_counter() - t_g) * 1000)
        yield FinalEvent(answer)

    # ------------------------------------------------------------------ steps
    def _mode(self, requested: AnswerMode | str | None) -> AnswerMode:
        try:
            mode = AnswerMode(requested or self.settings.answer_mode)
        except ValueError:
            raise ValueError("mode must be llm or extractive") from None
        if mode == AnswerMode.AUTO:
            mode = AnswerMode.LLM if self.chat is not None else AnswerMode.EXTRACTIVE
        return mode

    def _to_model(self, question: str, history: list[Message], mode: AnswerMode, language: str) -> ToModel:
        """The question and the conversation as the model may see them: unchanged for a local model;
        for a remote one, with the personal data replaced (one mapping for the whole conversation,
        so the same value gets the same token in every turn)."""
        if mode != AnswerMode.LLM or self.chat is None or self.outbound is None:
            return ToModel(question, history, {})
        texts = [m["content"] for m in history] + [question]
        joined = self.outbound.pseudonymise(_TURN_BREAK.join(texts), language)
        parts = joined.text.split(_TURN_BREAK)
        if len(parts) != len(texts):  # an entity across turns cannot happen; be safe anyway
            parts = [self.outbound.pseudonymise(t, language).text for t in texts]
        turns = [{"role": m["role"], "content": c} for m, c in zip(history, parts[:-1], strict=True)]
        return ToModel(parts[-1], turns, joined.mapping)

    def _standalone(self, question: str, history: list[Message], mode: AnswerMode, to_model: ToModel) -> str:
        previous = [m["content"] for m in history if m.get("role") == "user"]
        if not previous:
            return question
        if mode == AnswerMode.LLM and self.chat is not None:
            prompts = load_prompts(detect(question).language)
            limit = self.tuning.rewrite_turn_chars
            convo = "\n".join(f"{m['role']}: {m['content'][:limit]}" for m in to_model.history)
            try:
                rewritten = self.chat.complete(
                    [
                        {"role": "system", "content": prompts["rewrite"]},
                        {"role": "user", "content": f"{convo}\nuser: {to_model.question}"},
                    ]
                ).strip()
                if 5 < len(rewritten) < self.tuning.rewrite_max_chars:
                    return restore(rewritten.splitlines()[0], to_model.mapping)
            except LLMError:
                pass
        # without a model: a turn that refers to the previous question is searched with it
        return standalone_question(question, previous[-1], detect(question).language)

    def _decision(
        self, question: str, language: str, similarity: float, resp: SearchResponse, asked: dt.date | None
    ) -> Decision:
        """The calibrated answer-or-refuse decision from the signals of `assistant.refusal`."""
        top = resp.results[: self.tuning.context_k]
        passages = [(r.text, r.language, r.in_force) for r in top]
        # a text named by its number is asked about whatever its dates ("la loi 19-12 s'appliquait-elle
        # en 2016 ?"); a name several successive texts share ("le décret sur le SMIG") is not
        numbered = find_references(question).laws
        named = [n for n in resp.references.asked if n in self.retriever.known_laws and n in numbered]
        dated_in_force = None if named else _series_in_force(resp.results)
        floor = self.tuning.min_similarity_for(self.retriever.index.embedder.name)
        sig = signals(
            question,
            language,
            similarity,
            passages,
            self.retriever.vocabulary(),
            asked,
            similarity_floor=floor,
            dated_in_force=dated_in_force,
        )
        return decide(sig, self.tuning.refusal_weights, self.tuning.refusal_log_odds)

    def _refusal(self, decision: Decision, resp: SearchResponse, prompts: dict[str, Any]) -> str | None:
        known = self.retriever.known_laws
        missing = [n for n in resp.references.asked if known and n not in known]
        missing += [_quoted(m, resp.language) for m in resp.references.unindexed]
        if missing:
            return str(prompts["refusal_missing_text"]).format(
                names=str(prompts.get("separator", ", ")).join(missing)
            )
        if not resp.results:
            return str(prompts["refusal"])
        elsewhere = unindexed_governing_texts(
            resp.query,
            [r.text for r in resp.results[: self.tuning.context_k]],
            known,
            self.retriever.known_titles,
        )
        if elsewhere:
            return str(prompts["refusal_cited_text"]).format(
                names=str(prompts.get("separator", ", ")).join(elsewhere)
            )
        if decision.answers:
            return None
        return refusal_text(decision, resp, prompts)

    def _citations(self, results: list[Result], question: str) -> list[Citation]:
        cites = []
        for n, r in enumerate(results, start=1):
            cites.append(
                Citation(
                    n=n,
                    chunk_id=r.chunk_id,
                    doc_id=r.doc_id,
                    source=r.source,
                    title=r.title,
                    article=r.article,
                    page=r.page,
                    excerpt=best_excerpt(r.text, question, r.language),
                    in_force=r.in_force,
                    reference=r.payload.get("reference"),
                    text=r.text,
                    source_url=r.payload.get("source_url"),
                    version=r.payload.get("version"),
                )
            )
        return cites

    def _extractive(
        self,
        answer: Answer,
        question: str,
        results: list[Result],
        prompts: dict[str, Any],
        decision: Decision | None = None,
    ) -> None:
        chosen = results[: self.tuning.extractive_quotes]
        cites = self._citations(chosen, question)
        # the quotes are said to answer only when the refusal signals are confident they do
        confident = decision is None or decision.margin >= self.tuning.confident_margin
        lines = [prompts["extractive_intro"] if confident else prompts["extractive_intro_closest"], ""]
        if not confident and decision is not None and decision.signals and decision.signals.named_unknown:
            lines[0] += " " + str(prompts["extractive_missing"]).format(
                terms=", ".join(decision.signals.named_unknown[:3])
            )
        # first, the sentence that carries the answer (one per part of a compound question)
        asks = question_parts(question, answer.language) or [question]
        keys: list[tuple[int, str]] = []
        for ask in asks:
            found = key_sentence([(c.n, c.text, r.language) for c, r in zip(cites, chosen, strict=True)], ask)
            if found and found not in keys:
                keys.append(found)
        for n, sentence in keys:
            lines.append(f"« {sentence} » [{n}]")
        if keys:
            lines.append("")
        for c in cites:
            where = " — ".join(x for x in (c.title, c.article) if x)
            status = prompts["not_in_force"] if not c.in_force else ""
            lines.append(f"[{c.n}] {where}{status}")
            lines.append(f"« {c.excerpt} » [{c.n}]")
            lines.append("")
        answer.answer = "\n".join(lines).strip()
        answer.citations = cites
        answer.mode = AnswerMode.EXTRACTIVE  # `model` keeps the model that was tried, for the audit trail
        report = grounding.check(answer.answer, {c.n: c.text for c in cites})
        report.uncited_sentences = []
        report.action = GroundingAction.EXTRACTIVE
        answer.grounding = report.as_dict()

    def instructions_in(self, result: Result) -> list[str]:
        """The injection patterns a retrieved chunk matches: those recorded at ingestion, and those
        the current patterns find (chunks indexed before a pattern existed are covered too)."""
        stored = list(result.payload.get("injection") or [])
        found = detect_instructions(
            "\n".join(x for x in (result.payload.get("article_title"), result.text) if x)
        )
        return stored + [name for name in found if name not in stored]

    def may_reach_model(self, result: Result) -> bool:
        """A chunk holding instructions aimed at a model is shown to one only when its collection
        allows it (collection YAML `allow_instructions: true`); extractive answers may quote it."""
        if not self.instructions_in(result):
            return True
        collection = self.retriever.collections.get(str(result.payload.get("collection") or ""))
        return bool(collection and collection.allow_instructions)

    def _generate(
        self,
        answer: Answer,
        question: str,
        results: list[Result],
        prompts: dict[str, Any],
        history: list[Message],
    ) -> Iterator[AnswerEvent]:
        allowed = [self.may_reach_model(r) for r in results]
        given = [r for r, ok in zip(results, allowed, strict=True) if ok]
        withheld = [r.chunk_id for r, ok in zip(results, allowed, strict=True) if not ok]
        if not given:  # every passage found addresses the model: quote them instead
            self._extractive(answer, question, results, prompts)
            answer.notice = prompts["notice_withheld"]
            yield from _chunks(answer.answer)
        else:
            yield from self._generate_from(answer, question, given, results, prompts)
        if withheld:
            answer.grounding["withheld_sources"] = withheld

    def _generate_from(
        self,
        answer: Answer,
        question: str,
        given: list[Result],
        results: list[Result],
        prompts: dict[str, Any],
    ) -> Iterator[AnswerEvent]:
        """A model answer from the passages `given` to it (fenced as data); the extractive
        fallbacks quote every passage in `results`."""
        assert self.chat is not None
        model_question, mapping = question, {}
        if self.outbound is not None:  # a remote model never sees the asker's personal data
            sent = self.outbound.pseudonymise(question, answer.language)
            model_question, mapping = sent.text, sent.mapping
        cites = self._citations(given, question)
        blocks = []
        for c in cites:
            status = prompts["not_in_force"] if not c.in_force else ""
            blocks.append(
                prompts["source"].format(
                    n=c.n,
                    title=neutralise(c.title or ""),
                    article=neutralise(c.article or "—"),
                    page=c.page or "?",
                    status=status,
                    text=neutralise(c.text),
                )
            )
        messages: list[Message] = [{"role": "system", "content": prompts["system"]}]
        messages.append(
            {
                "role": "user",
                "content": prompts["user"].format(sources="\n\n".join(blocks), question=model_question),
            }
        )
        pieces: list[str] = []
        restorer = StreamRestorer(mapping)
        try:
            for delta in self.chat.stream(messages):
                pieces.append(delta)
                shown = restorer.feed(delta)
                if shown:
                    yield TokenEvent(shown)
            rest = restorer.finish()
            if rest:
                yield TokenEvent(rest)
            text = _clean_generation(restore("".join(pieces), mapping))
            if not text:
                raise LLMError("the model returned an empty answer")
        except LLMError as exc:
            self._extractive(answer, question, results, prompts)
            answer.notice = str(prompts["notice_model_failed"]).format(reason=str(exc)[:120])
            answer.grounding["action"] = GroundingAction.FALLBACK
            answer.grounding["error"] = str(exc)[:300]
            yield ResetEvent(answer.answer)
            return
        sources = {c.n: c.text for c in cites}
        report = grounding.check(text, sources)
        action = grounding.decide(report)
        if action == GroundingAction.DOWNGRADED and str(prompts.get("refusal_marker", "\x00")) in text:
            answer.answer, answer.refused, answer.citations = text, True, []
            report.action = GroundingAction.REFUSED
            answer.grounding = report.as_dict()
            answer.mode = AnswerMode.LLM
            return
        if action == GroundingAction.DOWNGRADED:
            self._extractive(answer, question, results, prompts)
            answer.notice = prompts["notice_downgraded"]
            answer.grounding["action"] = GroundingAction.DOWNGRADED
            answer.grounding["rejected_answer"] = text[:2000]
            answer.grounding["rejected_report"] = report.as_dict()
            yield ResetEvent(answer.answer)
            return
        if action == GroundingAction.REPAIRED:
            text = grounding.repair(text, report)
            report = grounding.check(text, sources)
        report.action = action
        # the model said the sources do not answer: a refusal, whatever it cited
        if str(prompts.get("refusal_marker", "\x00")) in text:
            answer.refused = True
        cited = set(report.cited)
        answer.answer = text
        answer.citations = [c for c in cites if c.n in cited]
        answer.grounding = report.as_dict()
        answer.mode = AnswerMode.LLM
        if action == GroundingAction.REPAIRED:
            yield ResetEvent(text)

    @staticmethod
    def _timings(t0: float, retrieval_ms: float, generation_ms: float) -> dict[str, float]:
        return {
            "retrieval": round(retrieval_ms, 1),
            "generation": round(generation_ms, 1),
            "total": round((time.perf_counter() - t0) * 1000, 1),
        }


def _series_in_force(results: list[Result], depth: int = TUNING.period_check_results) -> bool | None:
    """Whether the texts the question is most about were in force on the date searched. Looked at:
    the most relevant text (best score, before texts not in force were moved down) and, among the
    `depth` most relevant, every text of a series (successive decrees linked by supersedes /
    superseded_by). A text not in force counts as covered when a text of its series among the
    results was. None when there is nothing to say (the most relevant texts were in force)."""
    if not results:
        return None
    raw = sorted(results, key=lambda r: (-r.score, r.chunk_id))
    checked = [raw[0]] if not raw[0].in_force else []
    checked += [r for r in raw[1:depth] if not r.in_force and _series(r) != {r.source}]
    if not checked:
        return None
    for r in checked:
        series = _series(r)
        if not any(o.in_force and (o.source in series or r.source in _series(o)) for o in results):
            return False
    return True


def _series(r: Result) -> set[str]:
    """The document and the documents it supersedes or that supersede it."""
    out = {r.source, *(r.payload.get("supersedes") or [])}
    if r.payload.get("superseded_by"):
        out.add(str(r.payload.get("superseded_by")))
    return out


def _decision_record(decision: Decision) -> dict[str, Any]:
    return {
        "answers": decision.answers,
        "margin": round(decision.margin, 4),
        "reason": decision.reason,
        "signals": decision.signals.as_dict() if decision.signals else None,
    }


def refusal_text(decision: Decision, resp: SearchResponse, prompts: dict[str, Any]) -> str:
    """Why the question is refused, and what would help, in the asker's language."""
    reason = decision.reason or "low_relevance"
    if reason == "period" and decision.signals and decision.signals.asked_date:
        spans = []
        seen: set[str] = set()
        for r in resp.results[: TUNING.context_k]:
            if r.source in seen:
                continue
            seen.add(r.source)
            start = int(r.payload.get("valid_from") or 0)
            end = int(r.payload.get("valid_until") or 0)
            if start or end:
                spans.append(
                    str(prompts["validity_span"]).format(
                        title=r.title or r.source,
                        start=_iso(start) if start else "—",
                        end=_iso(end) if end and end < FAR_FUTURE else "—",
                    )
                )
        return str(prompts["refusal_period"]).format(
            date=decision.signals.asked_date.isoformat(),
            texts=str(prompts.get("separator", ", ")).join(spans[:3]) or "—",
        )
    if reason == "amount_missing":
        return str(prompts["refusal_amount"])
    if reason == "unknown_terms":
        return str(prompts["refusal_unknown_terms"]).format(terms=decision.details.get("terms", ""))
    if reason == "not_a_question":
        return str(prompts["refusal_not_a_question"])
    return str(prompts["refusal"])


def _iso(yyyymmdd: int) -> str:
    return f"{yyyymmdd // 10000:04d}-{yyyymmdd // 100 % 100:02d}-{yyyymmdd % 100:02d}"


_TURN_BREAK = "\n\u241e\n"  # joins the turns of a conversation to pseudonymise them with one mapping


@dataclass(frozen=True)
class ToModel:
    """A conversation as a model may see it, and the way back to the asker's own values."""

    question: str
    history: list[Message]
    mapping: dict[str, str]


_SPECIAL = re.compile(r"<\|[^|>]*\|>|<\|[^>]*$|</?s>|\[/?INST\]")


def _clean_generation(text: str) -> str:
    text = _SPECIAL.split(text)[0] if _SPECIAL.search(text) else text
    return text.strip()


def _chunks(text: str, size: int = TUNING.stream_piece_chars) -> Iterator[AnswerEvent]:
    for i in range(0, len(text), size):
        yield TokenEvent(text[i : i + size])


def best_excerpt(text: str, question: str, language: str, limit: int = TUNING.excerpt_chars) -> str:
    """The verbatim span of the chunk that best matches the question (whole lines, ≤ limit chars).
    Deterministic: equally good spans go to the earliest one (the quotes themselves are the first
    `extractive_quotes` results, whose order is fixed by `assistant.store.ranked`)."""
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if not lines:
        return ""
    q_terms = set(terms(question, language)) | set(terms(question, "fr"))
    scores = [len(q_terms & set(terms(ln, language))) for ln in lines]
    best_start, best_score = 0, -1.0
    for start in range(len(lines)):
        size, score, end = 0, 0.0, start
        while end < len(lines) and size + len(lines[end]) <= limit:
            size += len(lines[end]) + 1
            score += scores[end]
            end += 1
        if end == start:
            end = start + 1
        if score > best_score:
            best_start, best_score = start, score
    out: list[str] = []
    size = 0
    for ln in lines[best_start:]:
        if size + len(ln) > limit and out:
            break
        out.append(ln)
        size += len(ln) + 1
    excerpt = "\n".join(out)
    longest = int(limit * TUNING.excerpt_overflow)
    if len(excerpt) > longest:
        excerpt = excerpt[:longest].rsplit(" ", 1)[0]
    return excerpt


# a sentence ends at its punctuation, at a blank line, or where a list item or an article starts;
# a single line break is only the page's width (PDF lines break mid-sentence)
_SENTENCE_END = re.compile(
    r"(?<=[.;!?؟؛:])\s+|\n\s*\n\s*|\n(?=\s*(?:[-–•*]|\(?[0-9a-zأ-ي]{1,2}[).]\s|Article\b|المادة|الفصل))"
)
_LIST_ITEM = re.compile(r"^\s*(?:[-–•*]|\(?[0-9a-zأ-ي]{1,2}[).])\s*")
_ASKS_A_FIGURE = re.compile(
    r"\b(?:combien|quel(?:le)?s?\s+(?:est|sont|était)\s+(?:le|la|les)\s+(?:montant|durée|délai|taux|nombre|âge)|"
    r"how\s+(?:much|many|long|old)|what\s+(?:amount|age|rate))\b"
    r"|(?<!\w)(?:كم|بكم|شحال|ما\s+(?:هو|هي)\s+(?:مبلغ|مدة|أجل|سن))(?!\w)",
    re.I,
)
# a figure, in digits or in words (legal texts write "six mois", "un jour et demi", "ثلاثة أشهر")
_FIGURE = re.compile(
    r"\d|\b(?:un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|quinze|seize|vingt|trente|"
    r"quarante|cinquante|soixante|cent|mille|demi|one|two|three|four|five|six|seven|eight|nine|ten|twelve|"
    r"fifteen|twenty|thirty|hundred|thousand|half)\b"
    r"|(?<!\w)(?:[وب]?(?:واحد|اثن|ثلاث|أربع|خمس|ست|سبع|ثمان|تسع|عشر|مائة|ألف|نصف)\w*)",
    re.I,
)


def _sentences(text: str) -> list[str]:
    """The text's sentences, verbatim; a sentence announcing a list (ending with ':') keeps the
    items that follow it."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in [*_SENTENCE_END.finditer(text), None]:
        end = m.start() if m else len(text)
        if text[start:end].strip():
            spans.append((start, end))
        start = m.end() if m else len(text)
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if out and _LIST_ITEM.match(text[a:b]) and b - out[-1][0] <= TUNING.excerpt_chars:
            previous = text[out[-1][0] : out[-1][1]].rstrip()
            if previous.endswith(":") or _LIST_ITEM.match(previous.split("\n")[-1]):
                out[-1] = (out[-1][0], b)
                continue
        out.append((a, b))
    return [text[a:b].strip() for a, b in out]


def key_sentence(passages: list[tuple[int, str, str]], question: str) -> tuple[int, str] | None:
    """The one sentence of the quoted passages that best carries the answer: most of the question's
    words, a figure when the question asks for one (an amount, a delay, an age). Verbatim, with its
    citation number; equally good sentences go to the earlier passage and the earlier sentence."""
    wants_figure = bool(_ASKS_A_FIGURE.search(question))
    best: tuple[float, int, str] | None = None
    for n, text, language in passages:
        q_terms = set(terms(question, language)) | set(terms(question, "fr"))
        for sentence in _sentences(text):
            if not (TUNING.key_sentence_min_chars <= len(sentence) <= TUNING.excerpt_chars):
                continue
            overlap = len(q_terms & set(terms(sentence, language)))
            figure = wants_figure and _FIGURE.search(sentence)
            score = overlap + (TUNING.key_sentence_figure_bonus if figure else 0.0)
            if overlap and (best is None or score > best[0]):
                best = (score, n, sentence)
    return (best[1], best[2]) if best else None


def _quoted(text: str, language: str) -> str:
    return f"“{text}”" if language == "en" else f"« {text} »"
