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
from eval.ragas_metrics import JUDGED, NON_LLM
from eval.retrieval_metrics import score_ranking

HEADLINE = (
    "excerpt_recall@5",
    "source_hit@5",
    "mrr",
    "ndcg@10",
    "refusal_accuracy",
    "citation_validity",
    "language_match",
)


def answer_language(answer: str, fallback: str) -> str:
    """The language the answer is written in, ignoring quoted source text and citation lines."""
    text = re.sub(r"«[^»]*»", " ", answer)
    text = "\n".join(ln for ln in text.splitlines() if not re.match(r"^\s*\[\d+\]", ln))
    text = re.sub(r"\[\d+\]", " ", text)
    return detect_language(text) if len(text.strip()) > 10 else fallback


def citation_valid(citation: dict[str, Any]) -> bool:
    return contains_excerpt(citation.get("text") or "", citation.get("excerpt") or "")


def evaluate_sample(dalil: Dalil, sample: Sample, mode: str) -> dict[str, Any]:
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
    if sample.answerable:
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
    for name in (*NON_LLM, *JUDGED):
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


def refusal_margins(items: list[dict[str, Any]], threshold: float) -> dict[str, Any]:
    """What the refusal threshold's calibration depends on, overall and per language: the lowest
    relevance (question/closest-chunk cosine) among answerable questions must stay above the
    threshold and the highest among unanswerable ones below it. A negative margin is a question on
    the wrong side; a small one is a calibration about to stop holding."""

    def side(its: list[dict[str, Any]]) -> dict[str, Any]:
        answerable = [it["relevance"] for it in its if it["answerable"] and it.get("relevance") is not None]
        unanswerable = [
            it["relevance"] for it in its if not it["answerable"] and it.get("relevance") is not None
        ]
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

    languages = sorted({str(it["language"]) for it in items})
    return {
        "threshold": round(threshold, 4),
        "all": side(items),
        "by_language": {lang: side([it for it in items if it["language"] == lang]) for lang in languages},
    }


def breakdown(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for it in items:
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
    started = time.perf_counter()
    items = []
    for i, sample in enumerate(samples):
        items.append(evaluate_sample(dalil, sample, mode))
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
    metrics["refusal_margins"] = refusal_margins(
        items, dalil.assistant.tuning.min_similarity_for(dalil.index.embedder.name)
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
    }
    metrics["seconds"] = record["seconds"]
    with History(settings.eval_path) as history:
        history.save(record, items)
    dalil.close()
    return record


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
