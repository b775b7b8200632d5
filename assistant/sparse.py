"""Dalil's BM25-style sparse encoder.

Documents get saturated term frequencies; Qdrant's IDF modifier supplies the inverse
document frequency at query time, so the index never needs global statistics.
Terms are folded (NFKC, Arabic letter unification), stemmed with Snowball per language
and hashed into 31-bit ids.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

from assistant.textnorm import fold
from assistant.tuning import TUNING

_TOKEN = re.compile(r"\d+(?:[-./]\d+)*|[^\W\d_]+", re.UNICODE)
_STEMMERS = {"fr": "french", "en": "english", "ar": "arabic"}
STOPWORDS = set(
    """le la les l d de des du un une et ou a au aux en dans par pour sur que qui quoi ce cet cette ces se sa son ses
    leur leurs il elle ils elles est sont etre ne pas plus the of and or to in on for is are be by with what which how
    في من على الى إلى عن او أو ان أن التي الذي التي هذا هذه ذلك تلك ما لا مع كل قد ثم هو هي""".split()
)
_ARABIC_LIGHT = re.compile(r"^(?:وال|فال|بال|كال|لل|ال|و(?=ال)|ب(?=ا.{3,}))")


@dataclass(frozen=True)
class SparseVector:
    indices: list[int]
    values: list[float]


@lru_cache(maxsize=8)
def _stemmer(language: str) -> snowballstemmer.stemmer | None:
    name = _STEMMERS.get(language)
    return snowballstemmer.stemmer(name) if name else None


_STEM_LOCK = threading.Lock()


@lru_cache(maxsize=200_000)
def _stem(language: str, word: str) -> str:
    """Snowball in pure Python costs ~10 µs a word (half of a query's retrieval time before this
    cache); its stemmer objects keep state, hence the lock."""
    stemmer = _stemmer(language)
    if stemmer is None:
        return word
    with _STEM_LOCK:
        return str(stemmer.stemWord(word))


def term_id(term: str) -> int:
    """The 31-bit id of an index term (blake2b): the same in every process and engine."""
    return int.from_bytes(hashlib.blake2b(term.encode(), digest_size=4).digest(), "little") & 0x7FFFFFFF


def terms(text: str, language: str) -> list[str]:
    folded = fold(text, canonical_lam_alef=False)
    out: list[str] = []
    for tok in _TOKEN.findall(folded):
        if tok[0].isdigit():
            out.append(re.sub(r"[./]", "-", tok))
            continue
        if len(tok) < 2 or tok in STOPWORDS:
            continue
        if language == "ar":
            # Snowball's Arabic stemmer is inconsistent with proclitics (الولادة / ولادة / بإجازة):
            # also emit a light form with the article and one-letter proclitics removed
            light = _ARABIC_LIGHT.sub("", tok)
            light = light[:-1] if light.endswith("ه") and len(light) > 3 else light
            if len(light) >= 2:
                out.append("~" + light)
        out.append(_stem(language, tok))
    return out


class SparseEncoder:
    name = "dalil-bm25-v2"

    def encode_document(self, text: str, language: str) -> SparseVector:
        toks = terms(text, language)
        counts = Counter(term_id(t) for t in toks)
        length = max(len(toks), 1)
        k1, b = TUNING.bm25_k1, TUNING.bm25_b
        norm = k1 * (1 - b + b * length / TUNING.bm25_avg_len)
        items = sorted(counts.items())
        return SparseVector([i for i, _ in items], [tf * (k1 + 1) / (tf + norm) for _, tf in items])

    def encode_query(self, text: str, language: str) -> SparseVector:
        items = sorted({term_id(t) for t in terms(text, language)})
        return SparseVector(items, [1.0] * len(items))
