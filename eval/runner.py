"""`dalil eval run`: the assistant on every question in one process, then retrieval, answer
and Ragas metrics, broken down by language and kind, stored in the history."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.index import Index
from assistant.language import detect_language
from assistant.modes import AnswerMode, Audience
from assistant.prompts import prompt_version
from assistant.service import Dalil
from assistant.settings import Settings
from assistant.textnorm import contains_excerpt
from assistant.tuning import TUNING
from eval.dataset import Sample, dataset_hash, load_dataset
from eval.history import History, git_commit, now_id
from eval.ragas_metrics import JUDGED, NON_LLM, SPAN
from eval.retrieval_metrics import best_spans, score_ranking

HEADLINE = (
    "excerpt_recall@5",
    "source_hit@5",
    "mrr",
    "ndcg@10",
    "refusal_accuracy",
    "citation_validity",
    "language_match",
)

# one line per figure of a run: what it measures (the report prints them beside the values)
DEFINITIONS = {
    "n": "questions in the run",
    "excerpt_recall@5": "share of each answerable question's reference excerpts found (normalised, "
    "spaces ignored) in one of the 5 first retrieved chunks, averaged",
    "source_hit@5": "share of answerable questions with a chunk of one of their source files among the 5 first",
    "mrr": "mean of 1/rank of the first retrieved chunk holding a reference excerpt (0 when none of the 10 first)",
    "ndcg@10": "discounted gain of the chunks holding a reference excerpt among the 10 first, over the ideal order",
    "refusal_accuracy": "share of questions refused when unanswerable and answered when answerable",
    "unanswerable_refused": "share of unanswerable questions that were refused",
    "answerable_refused": "share of answerable questions that were refused (lower is better)",
    "citation_validity": "share of citations whose quoted excerpt is verbatim in the cited chunk",
    "language_match": "share of answers written in the question's language (quotes and citation lines ignored)",
    "span_context_recall": "Ragas non-LLM context recall on the best-matching span of each of the 5 first "
    "chunks: share of reference excerpts with a span at string similarity >= 0.5",
    "span_context_precision": "Ragas non-LLM context precision (with reference) on the same spans: "
    "rank-weighted share of the 5 first chunks whose best span matches a reference excerpt",
    "non_llm_context_recall": "Ragas non-LLM context recall on whole cited chunks: a short excerpt against a "
    "whole article scores low even when it is there; kept for comparison with earlier runs, not a headline",
    "non_llm_context_precision": "Ragas non-LLM context precision on whole cited chunks; as above, not a headline",
    "string_similarity": "Ragas Levenshtein similarity of the answer with the reference answer",
    "bleu": "BLEU of the answer against the reference answer",
    "chrf": "chrF of the answer against the reference answer",
    "faithfulness": "Ragas (judge model): share of the answer's claims supported by the contexts",
    "response_relevancy": "Ragas (judge model): how well the answer addresses the question",
    "llm_context_precision": "Ragas (judge model): rank-weighted share of relevant contexts",
    "factual_correctness": "Ragas (judge model): agreement of the answer's claims with the reference answer",
    "latency_ms": "time to answer one question (p50, p95, max), retrieval and answer included",
    "seconds": "wall time of the whole run",
}
BREAKDOWNS = ("by_language", "by_kind", "by_direction")


def answer_language(answer: str, fallback: str) -> str:
    """The language the answer is written in, ignoring quoted source text and citation lines."""
    # a quote ends at the » its citation mark follows: quoted text may hold « » of its own
    text = re.sub(r"«.*?»(?=\s*\[\d+\])", " ", answer, flags=re.S)
    text = re.sub(r"«[^»]*»", " ", text)
    text = "\n".join(ln for ln in text.splitlines() if not re.match(r"^\s*\[\d+\]", ln))
    text = re.sub(r"\[\d+\]", " ", text)
    return detect_language(text) if len(text.strip()) > 10 else fallback


def citation_valid(citation: dict[str, Any]) -> bool:
    return contains_excerpt(citation.get("text") or "", citation.get("excerpt") or "")


def direction(sample: Sample, source_languages: dict[str, str]) -> str | None:
    """Question language -> language of the text that holds the answer ("fr->ar", "ar->ar"): the
    dataset's own `direction` when given, else from the language the index records for the first
    context (or source) file. None for unanswerable questions and unknown files."""
    if sample.direction:
        return sample.direction
    if not sample.answerable:
        return None
    for name in [*sample.context_files, *sample.source_files]:
        lang = source_languages.get(name) or source_languages.get(Path(name).name)
        if lang:
            return f"{sample.language}->{lang}"
    return None


def evaluate_sample(
    dalil: Dalil, sample: Sample, mode: str, source_languages: dict[str, str] | None = None
) -> dict[str, Any]:
    t0 = time.perf_counter()
    ans = dalil.assistant.ask(
        sample.question, mode=mode, audience=Audience.AGENTS, k=10, history=sample.history or None
    )
    latency = (time.perf_counter() - t0) * 1000
    texts = [r.text for r in ans.retrieved]
    sources = [r.source for r in ans.retrieved]
    scores = score_ranking(texts, sources, sample.reference_contexts, sample.source_files, TUNING.eval_k)
    cites = [c.as_dict(full=True) for c in ans.citations]
    valid = [citation_valid(c) for c in cites]
    item: dict[str, Any] = {
        "id": sample.id,
        "question": sample.question,
        "language": sample.language,
        "kind": sample.kind,
        "direction": direction(sample, source_languages or {}),
        "history_turns": len(sample.history),
        "answerable": sample.answerable,
        "reference_answer": sample.reference_answer,
        "reference_contexts": sample.reference_contexts,
        "answer": ans.answer,
        "mode": ans.mode.value,
        "refused": ans.refused,
        "answer_language": answer_language(ans.answer, ans.language),
        "citations": [
            {k: c[k] for k in ("n", "chunk_id", "source", "article", "page", "excerpt")} for c in cites
        ],
        "citations_valid": sum(valid),
        "citations_total": len(valid),
        "retrieved": [
            {
                "rank": r.rank,
                "source": r.source,
                "article": r.article,
                "chunk_id": r.chunk_id,
                "text": r.text[:600],
            }
            for r in ans.retrieved[:10]
        ],
        "contexts": [c["text"] for c in cites] or [r.text for r in ans.retrieved[:3]],
        "latency_ms": latency,
        "timings_ms": ans.timings_ms,
        "grounding_action": ans.grounding.get("action"),
        "relevance": ans.relevance,
    }
    decision = ans.grounding.get("decision") or {}
    if decision.get("margin") is not None:
        # the calibrated answer-or-refuse decision (assistant/refusal.py): its log-odds, and why it refused
        item["decision_log_odds"] = decision["margin"] + dalil.assistant.tuning.refusal_log_odds
        item["decision_reason"] = decision.get("reason")
    if sample.answerable:
        spans = best_spans(texts[: TUNING.eval_k], sample.reference_contexts)
        item["span_contexts"] = [best for best, _ in spans]
        item["span_contexts_by_reference"] = [span for _, per_ref in spans for span in per_ref]
        item.update(
            {
                "excerpt_recall@5": scores.excerpt_recall,
                "source_hit@5": scores.source_hit,
                "mrr": scores.mrr,
                "ndcg@10": scores.ndcg10,
            }
        )
    item["refusal_correct"] = ans.refused != sample.answerable
    item["language_match"] = item["answer_language"] == sample.language
    return item


def _mean(values: list[float]) -> float | None:
    vals = [v for v in values if v is not None]
    return round(sum(vals) / len(vals), 4) if vals else None


def aggregate(items: list[dict[str, Any]]) -> dict[str, Any]:
    answerable = [it for it in items if it["answerable"]]
    unanswerable = [it for it in items if not it["answerable"]]
    cit_total = sum(it["citations_total"] for it in items)
    metrics: dict[str, Any] = {
        "n": len(items),
        "excerpt_recall@5": _mean([it["excerpt_recall@5"] for it in answerable]),
        "source_hit@5": _mean([it["source_hit@5"] for it in answerable]),
        "mrr": _mean([it["mrr"] for it in answerable]),
        "ndcg@10": _mean([it["ndcg@10"] for it in answerable]),
        "refusal_accuracy": _mean([1.0 if it["refusal_correct"] else 0.0 for it in items]),
        "unanswerable_refused": _mean([1.0 if it["refused"] else 0.0 for it in unanswerable]),
        "answerable_refused": _mean([1.0 if it["refused"] else 0.0 for it in answerable]),
        "citation_validity": round(sum(it["citations_valid"] for it in items) / cit_total, 4)
        if cit_total
        else None,
        "language_match": _mean([1.0 if it["language_match"] else 0.0 for it in items]),
    }
    for name in (*SPAN, *NON_LLM, *JUDGED):
        values = [it.get("ragas", {}).get(name) for it in items]
        if any(v is not None for v in values) or any(name in it.get("ragas", {}) for it in items):
            metrics[name] = _mean([v for v in values if v is not None])
    lat = sorted(it["latency_ms"] for it in items)
    metrics["latency_ms"] = {
        "p50": round(statistics.median(lat), 1),
        "p95": round(lat[min(len(lat) - 1, int(0.95 * len(lat)))], 1),
        "max": round(lat[-1], 1),
    }
    return metrics


MARGIN_SIGNALS = {
    "decision_log_odds": "log-odds of the refusal decision (assistant/refusal.py: similarity, unknown "
    "names and countries, an amount asked and not stated, a future year, language); the threshold is "
    "Tuning.refusal_log_odds, the margin the log-odds distance to it",
    "relevance": "cosine of the question with its closest visible chunk",
}


def refusal_margins(
    items: list[dict[str, Any]], threshold: float, value: str = "relevance"
) -> dict[str, Any]:
    """What a refusal calibration depends on, overall and per language, kind and direction: the lowest
    `value` (the decision's log-odds, or the question/closest-chunk cosine) among answerable questions
    must stay above the threshold and the highest among unanswerable ones below it. A negative margin
    is a question on the wrong side; a small one is a calibration about to stop holding."""

    def side(its: list[dict[str, Any]]) -> dict[str, Any]:
        answerable = [it[value] for it in its if it["answerable"] and it.get(value) is not None]
        unanswerable = [it[value] for it in its if not it["answerable"] and it.get(value) is not None]
        low = min(answerable) if answerable else None
        high = max(unanswerable) if unanswerable else None
        return {
            "lowest_answerable": round(low, 4) if low is not None else None,
            "highest_unanswerable": round(high, 4) if high is not None else None,
            "answerable_margin": round(low - threshold, 4) if low is not None else None,
            "unanswerable_margin": round(threshold - high, 4) if high is not None else None,
            "answerable_below": sum(1 for r in answerable if r < threshold),
            "unanswerable_above": sum(1 for r in unanswerable if r >= threshold),
        }

    def by(key: str) -> dict[str, Any]:
        groups = sorted({str(it[key]) for it in items if it.get(key) is not None})
        return {g: side([it for it in items if str(it.get(key)) == g]) for g in groups}

    return {
        "signal": value,
        "definition": MARGIN_SIGNALS.get(value, value),
        "threshold": round(threshold, 4),
        "all": side(items),
        "by_language": by("language"),
        "by_kind": by("kind"),
        "by_direction": by("direction"),
    }


def breakdown(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    """Every figure per value of `key` (items without one are left out)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for it in items:
        if it.get(key) is not None:
            groups.setdefault(str(it[key]), []).append(it)
    return {
        g: {k: v for k, v in aggregate(its).items() if k != "latency_ms"} for g, its in sorted(groups.items())
    }


def run(
    settings: Settings,
    dataset: Path,
    mode: AnswerMode | str = AnswerMode.EXTRACTIVE,
    judge_model: str | None = None,
    judge_url: str | None = None,
    tag: str | None = None,
    index: Index | None = None,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    from eval.ragas_metrics import judge_endpoint, judge_scores, non_llm_scores

    if judge_model:
        judge_endpoint(judge_url, settings.allowed_hosts)  # refused before any question is asked
    samples = load_dataset(dataset)[:limit] if limit else load_dataset(dataset)
    dalil = Dalil.open(settings, index=index)
    source_languages = _source_languages(settings)
    started = time.perf_counter()
    items = []
    for i, sample in enumerate(samples):
        items.append(evaluate_sample(dalil, sample, mode, source_languages))
        if progress:
            progress(i + 1, len(samples))
    for it in items:
        it["ragas"] = non_llm_scores(it)
    if judge_model:
        key = settings.mistral_api_key.get_secret_value() if settings.mistral_api_key else None
        for it, scores in zip(
            items,
            judge_scores(
                items,
                judge_model,
                judge_url,
                key,
                dalil.index.embedder,
                timeout_s=settings.judge_timeout_s,
                max_tokens=settings.judge_max_tokens,
                allowed_hosts=settings.allowed_hosts,
            ),
            strict=True,
        ):
            it["ragas"].update(scores)
    metrics = aggregate(items)
    metrics["by_language"] = breakdown(items, "language")
    metrics["by_kind"] = breakdown(items, "kind")
    metrics["by_direction"] = breakdown(items, "direction")
    metrics["refusal_margins"] = refusal_margins(
        items, dalil.assistant.tuning.refusal_log_odds, value="decision_log_odds"
    )
    run_id, ts = now_id()
    record = {
        "run_id": run_id,
        "ts": ts,
        "tag": tag,
        "dataset": dataset.name,
        "dataset_hash": dataset_hash(dataset),
        "mode": AnswerMode(mode).value,
        "n": len(items),
        "seconds": round(time.perf_counter() - started, 2),
        "fingerprint": {
            "git_commit": git_commit(),
            "index_version": dalil.index_version(),
            "embedding_model": dalil.index.embedder.name,
            "llm_model": dalil.assistant.chat.name
            if (dalil.assistant.chat and mode == AnswerMode.LLM)
            else None,
            "judge_model": judge_model,
            "prompt_version": prompt_version(),
        },
        "metrics": metrics,
        "definitions": {k: v for k, v in DEFINITIONS.items() if k in metrics},
    }
    metrics["seconds"] = record["seconds"]
    with History(settings.eval_path) as history:
        history.save(record, items)
    dalil.close()
    return record


def _source_languages(settings: Settings) -> dict[str, str]:
    """The language the registry records for every indexed file, by source and by file name."""
    from assistant.registry import Registry

    registry = Registry(settings.registry_path)
    try:
        records = registry.all()
    finally:
        registry.close()
    out: dict[str, str] = {}
    for rec in records:
        if rec.language:
            out[rec.source] = rec.language
            out.setdefault(Path(rec.source).name, rec.language)
    return out


def run_and_gate(settings: Settings, dataset: Path, index: Index | None = None) -> dict[str, Any]:
    """After a re-index: evaluate, then gate against the previous run on the same dataset."""
    from eval.gate import gate_against

    with History(settings.eval_path) as history:
        previous = history.runs(dataset.name)
    record = run(settings, dataset, mode=AnswerMode.EXTRACTIVE, tag="after-ingest", index=index)
    verdict: dict[str, Any] = {
        "run_id": record["run_id"],
        "metrics": {k: record["metrics"].get(k) for k in HEADLINE},
    }
    if previous:
        result = gate_against(record["metrics"], previous[-1]["metrics"])
        verdict.update({"baseline": previous[-1]["run_id"], **result})
    else:
        verdict.update({"passed": True, "baseline": None, "regressions": []})
    return verdict
