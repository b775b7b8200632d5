"""Test-set generation with Ragas' generator, from a collection's indexed chunks.

Needs a chat model (DALIL_LLM_URL / MISTRAL_API_KEY / DALIL_LLM_GGUF). tiktoken would
download its BPE file at first use; offline, token counts use a whitespace approximation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from assistant.endpoints import openai_base_url
from assistant.errors import ConfigError, DalilError
from assistant.index import Index
from assistant.settings import Settings
from assistant.store import Where


class _ApproxEncoding:
    name = "dalil-approx"

    def encode(self, text: str, *args: Any, **kwargs: Any) -> list[int]:
        return list(range(int(len(text.split()) * 1.3) + 1))

    def decode(self, tokens: list[int]) -> str:
        return ""


def _offline_tiktoken() -> None:
    import tiktoken

    tiktoken.get_encoding = lambda *a, **k: _ApproxEncoding()  # type: ignore[assignment]
    tiktoken.encoding_for_model = lambda *a, **k: _ApproxEncoding()  # type: ignore[assignment]


def generate(settings: Settings, collection: str, n: int, out: Path) -> int:
    from assistant.generation.chat import chat_model_from_settings

    model = chat_model_from_settings(settings)
    if model is None:
        raise ConfigError(
            "test-set generation needs a language model: set DALIL_LLM_URL (self-hosted Mistral-compatible server), "
            "MISTRAL_API_KEY, or DALIL_LLM_GGUF"
        )
    _offline_tiktoken()
    from langchain_core.documents import Document
    from langchain_mistralai import ChatMistralAI
    from ragas.embeddings import LangchainEmbeddingsWrapper
    from ragas.llms import LangchainLLMWrapper
    from ragas.testset import TestsetGenerator

    from eval.ragas_metrics import DalilLCEmbeddings

    index = Index(settings)
    docs = [
        Document(page_content=p["text"], metadata={"source": p["source"], "article": p.get("article")})
        for p in index.store.scroll(Where(collections=[collection]))
        if len(p.get("text", "")) > 200
    ][:200]
    if not docs:
        raise DalilError(f"collection {collection!r} has no indexed chunks: run `dalil ingest` first")
    url = getattr(model, "server_url", None)
    key = settings.mistral_api_key or SecretStr("none")
    base_url = openai_base_url(url) if url else None
    llm = ChatMistralAI(model=model.name, api_key=key, base_url=base_url, max_retries=0)  # type: ignore[call-arg]
    gen = TestsetGenerator(
        llm=LangchainLLMWrapper(llm),
        embedding_model=LangchainEmbeddingsWrapper(DalilLCEmbeddings(index.embedder)),
    )
    try:
        testset = gen.generate_with_langchain_docs(docs, testset_size=n, raise_exceptions=False)
    except Exception as exc:
        raise DalilError(f"Ragas test-set generation failed: {type(exc).__name__}: {exc}") from exc
    count = 0
    with out.open("w", encoding="utf-8") as fh:
        for i, s in enumerate(testset.to_list()):  # type: ignore[union-attr]
            fh.write(
                json.dumps(
                    {
                        "id": f"gen-{i + 1:03d}",
                        "question": s.get("user_input"),
                        "language": "fr",
                        "reference_answer": s.get("reference") or "",
                        "reference_contexts": s.get("reference_contexts") or [],
                        "source_file": None,
                        "kind": "factual",
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
            count += 1
    index.close()
    return count
