"""Make unstructured 0.27 work fully offline.

On first use unstructured downloads spaCy's `en_core_web_sm` to split sentences. A blank
multilingual pipeline with a rule-based sentencizer does that job for every language we
index, with nothing to download.
"""

from __future__ import annotations

import functools
import os

from assistant.offline import enforce_offline_env

enforce_offline_env()
os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")

_patched = False


@functools.lru_cache(maxsize=1)
def _blank_pipeline():  # type: ignore[no-untyped-def]
    import spacy

    nlp = spacy.blank("xx")
    nlp.add_pipe("sentencizer")
    return nlp


def patch_unstructured() -> None:
    global _patched
    if _patched:
        return
    import unstructured.nlp.tokenize as tokenize

    tokenize._get_nlp = _blank_pipeline  # type: ignore[attr-defined]
    tokenize._install_spacy_model = _refuse_download  # type: ignore[attr-defined]
    _patched = True


def _refuse_download() -> None:
    raise RuntimeError("Dalil runs offline: unstructured must not download a spaCy model.")
