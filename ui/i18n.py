"""Interface strings in French, Arabic and English: one table (ui/strings.yaml), one lookup."""

from __future__ import annotations

import logging
from functools import lru_cache
from importlib.resources import files
from typing import Any

import yaml

from assistant.errors import (
    ConfigError,
    DalilError,
    EgressError,
    IndexLockedError,
    IndexMismatchError,
    IngestError,
    InputError,
    LLMError,
    QueryError,
    StoreDamagedError,
)
from assistant.language import DEFAULT_LANGUAGE, LANGUAGES

_log = logging.getLogger(__name__)

REASON_CODES = ["wrong", "incomplete", "source_missing", "other"]


@lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(files("ui").joinpath("strings.yaml").read_text(encoding="utf-8"))
    return data


def strings() -> dict[str, dict[str, str]]:
    """key -> {language: text} for every interface string."""
    table: dict[str, dict[str, str]] = _table()["strings"]
    return table


def t(lang: str, key: str, **values: object) -> str:
    """The interface string `key` in `lang` (French when the language is not an interface language),
    with `{name}` placeholders filled from `values`."""
    entry = strings()[key]
    text = entry.get(lang if lang in LANGUAGES else DEFAULT_LANGUAGE) or entry[DEFAULT_LANGUAGE]
    return text.format(**values) if values else text


def examples(lang: str) -> list[str]:
    """The example questions of the welcome screen."""
    table: dict[str, list[str]] = _table()["examples"]
    return table.get(lang) or table[DEFAULT_LANGUAGE]


# library errors, most specific first: what the interface says for each type (its own message,
# written for an operator in English, is kept for the logs)
_ERROR_KEYS: tuple[tuple[type[BaseException], str], ...] = (
    (IndexLockedError, "error_index_locked"),
    (IndexMismatchError, "error_index_mismatch"),
    (StoreDamagedError, "error_store_damaged"),
    (EgressError, "error_egress"),
    (ConfigError, "error_config"),
    (QueryError, "error_query"),
    (LLMError, "error_llm"),
    (InputError, "error_input"),
    (IngestError, "error_ingest"),
    (DalilError, "error_generic"),
)


def error_message(lang: str, exc: BaseException) -> str:
    """What the interface says about a library error, in `lang` (the type decides the message)."""
    _log.warning("%s: %s", type(exc).__name__, exc)
    for kind, key in _ERROR_KEYS:
        if isinstance(exc, kind):
            return t(lang, key)
    return t(lang, "error_generic")
