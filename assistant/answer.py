"""Grounded answers: retrieve, refuse early when nothing relevant, generate (llm) or quote
(extractive), check grounding, fall back to extractive on any model failure."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from assistant.errors import LLMError
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
from assistant.references import unindexed_governing_texts
from assistant.retrieval import Result, Retriever, SearchResponse
from assistant.sparse import terms
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
        t_r = time.perf_counter()
        resp = self.retriever.search(
            standalone, k=k or self.tuning.top_k, date=date, collections=collections, audience=audience
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
                self.retriever, standalone, {"date": date, "collections": collections, "audience": audience}
            )
            if resp.results
            else 0.0
        )
        refusal = self._refusal(answer.relevance, resp, prompts)
        yield MetaEvent(mode=mode, language=lang, model=answer.model)
        if refusal is not None:
            answer.refused = True
            answer.answer = refusal
            answer.grounding = grounding.GroundingReport(action=GroundingAction.REFUSED).as_dict()
            yield TokenEvent(refusal)
            answer.timings_ms = self._timings(t0, retrieval_ms, 0.0)
            yield FinalEvent(answer)
            return
        t_g = time.perf_counter()
        if mode == AnswerMode.LLM and self.chat is not None:
            yield from self._generate(answer, standalone, results, prompts, history)
        else:
            self._extractive(answer, standalone, results, prompts)
            answer.notice = prompts["notice_extractive"]
            yield from _chunks(answer.answer)
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
        # without a model: a short follow-up inherits the previous question's subject
        if len(question.split()) <= self.tuning.follow_up_max_words:
            return f"{previous[-1]} {question}"
        return question

    def _refusal(self, similarity: float, resp: SearchResponse, prompts: dict[str, Any]) -> str | None:
        known = self.retriever.known_laws
        missing = [n for n in resp.references.laws if known and n not in known]
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
        threshold = self.tuning.min_similarity_for(self.retriever.index.embedder.name)
        if similarity < threshold:
            return str(prompts["refusal"])
        return None

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
        self, answer: Answer, question: str, results: list[Result], prompts: dict[str, Any]
    ) -> None:
        chosen = results[: self.tuning.extractive_quotes]
        cites = self._citations(chosen, question)
        lines = [prompts["extractive_intro"], ""]
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
