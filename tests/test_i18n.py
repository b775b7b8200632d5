"""One table of interface strings: every key in every interface language, same placeholders."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from assistant.language import LANGUAGES
from ui.i18n import examples, strings, t

pytestmark = pytest.mark.unit

UI = Path(__file__).resolve().parent.parent / "ui"


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_string_exists_in_every_language_with_the_same_placeholders() -> None:
    table = strings()
    assert table
    problems = []
    for key, entry in table.items():
        missing = [lang for lang in LANGUAGES if not (entry.get(lang) or "").strip()]
        if missing:
            problems.append(f"{key}: missing {missing}")
            continue
        fields = {lang: _fields(entry[lang]) for lang in LANGUAGES}
        if len({frozenset(f) for f in fields.values()}) != 1:
            problems.append(f"{key}: placeholders differ {fields}")
    assert not problems, "\n".join(problems)


def test_examples_for_every_language_and_lookup_falls_back_to_french() -> None:
    assert LANGUAGES
    assert all(examples(lang) for lang in LANGUAGES)
    assert t("xx", "chat") == t("fr", "chat")
    assert t("en", "ratings", n=3) == "3 ratings"


def test_no_page_keeps_a_translation_table_of_its_own() -> None:
    pages = [p for p in UI.glob("*.py") if p.name != "i18n.py"]
    assert pages
    offenders = [
        p.name for p in pages if re.search(r"""["'](fr|ar|en)["']\s*:\s*[\[{"']""", p.read_text("utf-8"))
    ]
    assert not offenders, f"translation tables outside ui/strings.yaml: {offenders}"
