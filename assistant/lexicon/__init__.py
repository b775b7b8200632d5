"""Dictionary-based cross-lingual expansion: the equivalents, in the other languages, of the
domain terms a question contains."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files

import yaml

from assistant.language import LANGUAGES as LANGS
from assistant.textnorm import fold


@lru_cache(maxsize=1)
def _entries() -> list[dict[str, list[str]]]:
    raw = yaml.safe_load(files("assistant.lexicon").joinpath("glossary.yaml").read_text(encoding="utf-8"))
    return [{lang: [str(t) for t in e.get(lang, [])] for lang in LANGS} for e in raw]


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[dict[str, list[str]], dict[str, re.Pattern[str]]]]:
    out = []
    for e in _entries():
        pats = {}
        for lang in LANGS:
            folded = {fold(t, canonical_lam_alef=False) for t in e[lang]}
            if lang == "ar":
                folded = {t[2:] if t.startswith("ال") and len(t) > 4 else t for t in folded}
            terms = sorted(folded, key=len, reverse=True)
            if terms:
                # a multi-word term still matches with one extra word inside ("salaire horaire minimum")
                word = (
                    (lambda w: "(?:ال)?" + re.escape(w[2:] if w.startswith("ال") else w))
                    if lang == "ar"
                    else re.escape
                )
                body = "|".join(r"\s+(?:\w+\s+)?".join(word(w) for w in t.split()) for t in terms)
                prefix = r"(?:و|ف|ب|ل|ك)?(?:ال)?" if lang == "ar" else ""
                pats[lang] = re.compile(rf"(?<!\w){prefix}(?:{body})(?!\w)")
        out.append((e, pats))
    return out


def translations(question: str, language: str) -> dict[str, list[str]]:
    """Terms of the other languages for every glossary concept found in the question."""
    text = fold(question, canonical_lam_alef=False)
    out: dict[str, list[str]] = {lang: [] for lang in LANGS if lang != language}
    for entry, pats in _patterns():
        pat = pats.get(language)
        if pat is None or not pat.search(text):
            continue
        for lang in out:
            out[lang].extend(entry[lang])
    return {lang: list(dict.fromkeys(ts)) for lang, ts in out.items() if ts}


def concepts(question: str, language: str) -> list[tuple[str, dict[str, list[str]]]]:
    """Every glossary concept found in the question: the (folded) words that named it, and its
    terms in every language."""
    text = fold(question, canonical_lam_alef=False)
    found = []
    for entry, pats in _patterns():
        pat = pats.get(language)
        if pat is None:
            continue
        for m in pat.finditer(text):
            found.append((m.group(0), entry))
    return found


@lru_cache(maxsize=1)
def _countries() -> dict[str, list[tuple[str, str]]]:
    """Folded country word -> every name of that country, as (language, name)."""
    raw = yaml.safe_load(files("assistant.lexicon").joinpath("countries.yaml").read_text(encoding="utf-8"))
    out: dict[str, list[tuple[str, str]]] = {}
    for entry in raw:
        names = [(lang, fold(str(n), canonical_lam_alef=False)) for lang, ns in entry.items() for n in ns]
        for _, name in names:
            out.setdefault(name, []).extend(names)
    return out


def country_names(word: str) -> list[tuple[str, str]]:
    """Every name, as (language, folded name), of the country a folded question word names
    ("tunisie", "Algeria", "تونس", "بتونس", "التونسية"); empty when it names none (countries.yaml)."""
    names = _countries()
    if word in names:
        return names[word]
    stripped = re.sub(r"^(?:و|ف)?(?:ب|ل|ك)?", "", word)  # Arabic clitics, then the article
    for candidate in (stripped, "ال" + stripped, stripped.removeprefix("ال")):
        if candidate in names:
            return names[candidate]
    return []


@lru_cache(maxsize=1)
def _darija() -> dict[str, list[str]]:
    raw = yaml.safe_load(files("assistant.lexicon").joinpath("darija.yaml").read_text(encoding="utf-8"))
    return {fold(str(k), canonical_lam_alef=False): [str(v) for v in (vs or [])] for k, vs in raw.items()}


_DARIJA_CLITIC = re.compile(r"^(?:و|ف|ب|ل)?(?:ال)?")


def darija_to_msa(question: str) -> list[str]:
    """The Modern Standard Arabic equivalents of the Darija words of a question (darija.yaml), in
    their order; a word keeps its place even when it has none (`ديال`)."""
    table = _darija()
    out: list[str] = []
    for word in re.findall(r"[^\W\d_]+", fold(question, canonical_lam_alef=False)):
        if word in table:
            out.extend(table[word])
            continue
        bare = _DARIJA_CLITIC.sub("", word)
        if bare != word and len(bare) > 2 and bare in table:
            out.extend(table[bare])
    return out
