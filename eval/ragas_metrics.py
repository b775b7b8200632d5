"""Ragas metrics: the non-LLM ones always, the LLM-judged ones when a judge model is given.

The judge is a Mistral-compatible model reached through LangChain's ChatMistralAI (the same
SDK family as Dalil's chat path); embeddings for ResponseRelevancy come from Dalil's own
offline encoder. Telemetry is off and nothing is downloaded.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

from assistant.egress import check_url
from assistant.endpoints import MISTRAL_API_URL, openai_base_url
from assistant.offline import enforce_offline_env

enforce_offline_env()
warnings.filterwarnings("ignore", category=DeprecationWarning)

# Ragas' non-LLM context recall and precision, on the best-matching span of each retrieved chunk
SPAN = ("span_context_recall", "span_context_precision")
# on whole cited chunks (kept for comparison with earlier runs; a short excerpt against a whole
# article scores low even when it is there)
NON_LLM = ("non_llm_context_recall", "non_llm_context_precision", "string_similarity", "bleu", "chrf")
JUDGED = ("faithfulness", "response_relevancy", "llm_context_precision", "factual_correctness")


def _sample(item: dict[str, Any]) -> Any:
    from ragas import SingleTurnSample

    return SingleTurnSample(
        user_input=item["question"],
        response=item.get("answer") or "",
        reference=item.get("reference_answer") or "",
        retrieved_contexts=item.get("contexts") or [""],
        reference_contexts=item.get("reference_contexts") or [""],
    )


def _safe(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def non_llm_scores(item: dict[str, Any]) -> dict[str, float | None]:
    from ragas.metrics import (
        BleuScore,
        ChrfScore,
        NonLLMContextPrecisionWithReference,
        NonLLMContextRecall,
        NonLLMStringSimilarity,
    )

    sample = _sample(item)
    out: dict[str, float | None] = {}
    answerable = bool(item.get("reference_contexts"))
    metrics: list[tuple[str, Any]] = [
        ("string_similarity", NonLLMStringSimilarity()),
        ("bleu", BleuScore()),
        ("chrf", ChrfScore()),
    ]
    if answerable:
        metrics += [
            ("non_llm_context_recall", NonLLMContextRecall()),
            ("non_llm_context_precision", NonLLMContextPrecisionWithReference()),
        ]
    if answerable and item.get("span_contexts"):
        spans = item["span_contexts"]
        metrics += [
            ("span_context_recall", (NonLLMContextRecall(), item.get("span_contexts_by_reference") or spans)),
            ("span_context_precision", (NonLLMContextPrecisionWithReference(), spans)),
        ]
    for name, metric in metrics:
        try:
            if isinstance(metric, tuple):  # the same metric over other retrieved contexts
                scorer, contexts = metric
                on = sample.model_copy(update={"retrieved_contexts": list(contexts)})
                out[name] = _safe(scorer.single_turn_score(on))
            else:
                out[name] = _safe(metric.single_turn_score(sample))
        except Exception:  # a metric's failure on one sample is a missing value, not a crash
            out[name] = None
    return out


class DalilLCEmbeddings:
    """LangChain Embeddings interface over Dalil's offline dense encoder."""

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [list(map(float, v)) for v in self.embedder.embed_documents(texts)]

    def embed_query(self, text: str) -> list[float]:
        return list(map(float, self.embedder.embed_query(text)))

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents(texts)

    async def aembed_query(self, text: str) -> list[float]:
        return self.embed_query(text)


def judge_endpoint(judge_url: str | None, allowed_hosts: Sequence[str]) -> str:
    """The judge's server (Mistral's API without --judge-url), checked against the egress
    allow-list before anything connects to it."""
    if judge_url:
        return check_url(judge_url, "--judge-url", allowed_hosts)
    return check_url(MISTRAL_API_URL, "--judge-model without --judge-url (Mistral's API)", allowed_hosts)


def judge_scores(
    items: list[dict[str, Any]],
    judge_model: str,
    judge_url: str | None,
    api_key: str | None,
    embedder: Any,
    timeout_s: float = 180.0,
    max_tokens: int = 1024,
    allowed_hosts: Sequence[str] | None = None,
) -> list[dict[str, float | None]]:
    """LLM-judged Ragas metrics. Tiny models give NaN scores: recorded as missing values.
    `allowed_hosts`: the egress allow-list (default: the settings' DALIL_ALLOWED_HOSTS)."""
    if allowed_hosts is None:
        from assistant.settings import get_settings

        allowed_hosts = get_settings().allowed_hosts
    base_url = openai_base_url(judge_endpoint(judge_url, allowed_hosts))
    from langchain_core.embeddings import Embeddings
    from langchain_mistralai import ChatMistralAI
    from ragas import EvaluationDataset, RunConfig, evaluate
    from ragas.embeddings import LangchainEmbeddingsWrapper
    from ragas.llms import LangchainLLMWrapper
    from ragas.metrics import (
        FactualCorrectness,
        Faithfulness,
        LLMContextPrecisionWithReference,
        ResponseRelevancy,
    )

    kwargs: dict[str, Any] = {
        "model": judge_model,
        "api_key": api_key or "none",
        "temperature": 0.0,
        "max_tokens": max_tokens,
        "timeout": int(timeout_s),
        "max_retries": 0,
        "base_url": base_url,
    }
    llm = LangchainLLMWrapper(ChatMistralAI(**kwargs), bypass_n=True)
    # a model that stops on length must still be scored (NaN), not raise
    llm.is_finished = lambda response: True  # type: ignore[method-assign]

    class _Emb(DalilLCEmbeddings, Embeddings):
        pass

    emb = LangchainEmbeddingsWrapper(_Emb(embedder))
    metrics = [
        Faithfulness(),
        ResponseRelevancy(strictness=1),
        LLMContextPrecisionWithReference(),
        FactualCorrectness(),
    ]
    names = ["faithfulness", "response_relevancy", "llm_context_precision", "factual_correctness"]
    dataset = EvaluationDataset(samples=[_sample(it) for it in items])
    result = evaluate(
        dataset,
        metrics=metrics,
        llm=llm,
        embeddings=emb,
        run_config=RunConfig(timeout=int(timeout_s), max_retries=0, max_workers=2),
        raise_exceptions=False,
        show_progress=False,
    )
    frame = result.to_pandas()  # type: ignore[union-attr]
    out = []
    for i in range(len(items)):
        row = frame.iloc[i]
        out.append(
            {name: _safe(row.get(col)) for name, col in zip(names, _columns(frame, names), strict=True)}
        )
    return out


def _columns(frame: Any, names: list[str]) -> list[str]:
    cols = list(frame.columns)
    mapping = {
        "faithfulness": "faithfulness",
        "response_relevancy": "answer_relevancy",
        "llm_context_precision": "llm_context_precision_with_reference",
        "factual_correctness": next(
            (c for c in cols if c.startswith("factual_correctness")), "factual_correctness"
        ),
    }
    return [mapping[n] if mapping[n] in cols else n for n in names]
