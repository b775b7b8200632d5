"""Prompts are data: one YAML file per answer language."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from typing import Any

import yaml

from assistant.language import DEFAULT_LANGUAGE, LANGUAGES


@lru_cache(maxsize=8)
def load_prompts(language: str) -> dict[str, Any]:
    name = language if language in LANGUAGES else DEFAULT_LANGUAGE
    text = files("assistant.prompts").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def prompt_version() -> str:
    return "+".join(f"{lang}:{load_prompts(lang)['version']}" for lang in LANGUAGES)
