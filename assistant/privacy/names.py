"""Person names in French, Arabic and English, with or without a title; the title is never part of
the name ("M. Youssef El Amrani" -> "Youssef El Amrani").

There is no Arabic NER model that runs offline, and spaCy's French model, good on French names,
also tags places, institutions and sentence-initial words as people. So a name is found by what
supports it, each support with its score (`Tuning.privacy_scores`):

1. *context* — after a cue (data/contexts.yaml): an introduction ("je m'appelle", "my name is",
   "اسمي", "باسم", "سميتي", "الاسم الكامل:") takes the name-like words up to the punctuation;
   a relation or role ("mon fils", "my wife", "ابنتي", "زوجي", "خويا", "المواطن"), a title
   ("M.", "Mme", "Mr.", "السيد", "السيدة") or the asker speaking of themself ("je suis", "I'm",
   "أنا") takes a name that starts with a listed given name, or a capitalised one;
2. *known_name* — a listed given name followed by a family name: listed, or built with a particle
   (El, Ben, Ibn, Ait, Ou, Oulad, بن, آيت, أولاد, أو...), or an Arabic nisba (ال...ي: الفاسي,
   الشرقاوي); in Latin script also any capitalised words after a listed given name;
3. *ner* — spaCy's PER entity over two or more capitalised words (or one listed given name),
   kept only if it survives the filters.

Filters (deny-lists in data/): a candidate made only of places, institutions, offices or ordinary
capitalised words ("Tanger", "CNSS", "Veuillez") is dropped; so is one right after a street or
area word ("Rue Mohammed Diouri", "Hay Mohammadi", "شارع الحسن الثاني": an address or a place),
one with a regnal number ("Mohammed VI", "محمد السادس") or after a royal or public-office word
("Sa Majesté le Roi", "M. le ministre", "السيد رئيس الحكومة"). A word that is also a given name
is only a name with support: "أمين المال" (treasurer) has no family name after it and no cue
before it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from assistant.privacy.addresses import ADMIN, STREET
from assistant.privacy.entities import Entity, EntityType
from assistant.privacy.lexicon import Lexicon, is_arabic, key, lexicon, strip_conjunction
from assistant.tuning import TUNING, Tuning

_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*", re.UNICODE)
_ROMAN = frozenset({"i", "ii", "iii", "iv", "v", "vi", "vii"})
_LATIN_PARTICLES = frozenset(
    {"el", "al", "ben", "bin", "ibn", "bent", "ait", "ou", "oulad", "ould", "bou", "bel"}
)
_LATIN_LOWER_PARTICLES = _LATIN_PARTICLES - {"ou", "al"}  # "ou" (or) and "al" only capitalised
_ARABIC_PARTICLES = frozenset({key(w) for w in "بن ابن بنت آيت أيت أولاد ولد بو مولاي لالة سيدي".split()})
_AR_OR = key("أو")  # a separate أو is "or" unless a listed name follows
_ABD = frozenset({key("عبد"), "abd", "abdel", "abdul", "abdal"})
_ATTACHED = tuple(key(p) for p in ("بن", "بل", "بو", "أو", "آيت", "أيت"))
_ROYAL = frozenset(
    key(w)
    for w in "roi reine prince princesse majesté king queen majesty altesse الملك جلالة الجلالة الأمير الأميرة سمو".split()
)
# High public offices: a name right after one is a public figure's ("le ministre Ahmed X",
# "le Wali Said X", "الوزير محمد X"), not a private person's.
_HIGH_OFFICE = frozenset(
    key(w)
    for w in "ministre minister wali gouverneur governor ambassadeur ambassador الوزير وزير الوالي والي السفير".split()
)
# An elided article or pronoun glued to a word ("L'association", "d'Anfa", "qu'il"): never a name.
_ELISION = re.compile(r"^(?:[lLdDjJmMnNsStTcC]|[qQ]u)['’]")
# Between a cue and the name: spaces, ':' ',' '-' only.
_CUE_GAP = re.compile(r"^[\s:,\-–—]*$")


@dataclass(frozen=True)
class _Tok:
    text: str
    start: int
    end: int
    key: str

    @property
    def arabic(self) -> bool:
        return is_arabic(self.text)

    @property
    def cap(self) -> bool:
        return self.text[:1].isupper() and not self.elided

    @property
    def elided(self) -> bool:
        return bool(_ELISION.match(self.text))

    @property
    def bare_key(self) -> str:
        """The key without an elided article or an Arabic conjunction: "l'association" ->
        "association", "وزميلي" -> "زميلي"."""
        m = _ELISION.match(self.text)
        return key(self.text[m.end() :]) if m else strip_conjunction(self.key)


def _tokens(text: str) -> list[_Tok]:
    out = []
    for m in _WORD.finditer(text):
        word, start, end = m.group(), m.start(), m.end()
        if len(word) > 3 and word[-2:] in ("'s", "’s"):  # "Zohra Benkirane's"
            word, end = word[:-2], end - 2
        out.append(_Tok(word, start, end, key(word)))
    return out


class _Finder:
    def __init__(self, text: str, ner: Sequence[tuple[int, int]], tuning: Tuning) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.ner = list(ner)
        self.lex: Lexicon = lexicon()
        self.max_words = tuning.privacy_name_max_words
        self.score = tuning.privacy_scores
        self.found: list[Entity] = []

    # ------------------------------------------------------------------ token predicates
    def tok(self, i: int) -> _Tok | None:
        return self.toks[i] if 0 <= i < len(self.toks) else None

    def joined(self, i: int) -> bool:
        """Tokens i and i+1 are separated by spaces only (a name may continue)."""
        a, b = self.tok(i), self.tok(i + 1)
        if a is None or b is None:
            return False
        gap = self.text[a.end : b.start]
        return 0 < len(gap) <= 2 and gap.strip(" \u00a0") == "" or gap == "-"

    def boundary_after(self, i: int) -> bool:
        """Token i ends a phrase: punctuation or the end of the text follows."""
        t, n = self.tok(i), self.tok(i + 1)
        if t is None:
            return True
        gap = self.text[t.end : n.start] if n is not None else self.text[t.end :]
        return n is None or any(not (c.isspace() or c.isalnum()) for c in gap)

    def denied(self, k: str) -> bool:
        lex = self.lex
        return k in lex.stopwords or k in lex.institutions or k in lex.offices or k in lex.not_names

    def given(self, i: int) -> int:
        """Tokens of a given name starting at i (0 if none): a listed name, "عبد" + a word, a listed
        two-word name ("نور الدين")."""
        t = self.tok(i)
        if t is None:
            return 0
        nxt = self.tok(i + 1)
        if nxt is not None and self.joined(i) and f"{t.key} {nxt.key}" in self.lex.given_names:
            return 2
        if t.key in _ABD and nxt is not None and self.joined(i) and not self.denied(nxt.key):
            return 2
        if t.key in self.lex.given_names or (t.arabic and _spelling_variant(t.key) in self.lex.given_names):
            return 1
        if t.arabic and t.key.startswith(key("عبد")) and len(t.key) >= 6:  # عبدالله, عبدالرحيم
            return 1
        return 0

    def nisba(self, k: str) -> bool:
        lex = self.lex
        return (
            k.startswith("ال")
            and len(k) >= 5
            and (k.endswith("ي") or k.endswith("اوي"))
            and k not in lex.not_names
            and k not in lex.places
            and k not in lex.institutions
        )

    def family(self, i: int, *, listed_only: bool = False) -> int:
        """Tokens of a family name (or a further given name) at i, as an extension of a name;
        `listed_only`: a listed name, a particle and a name, or a nisba (no attached particle)."""
        t = self.tok(i)
        if t is None or (t.key in self.lex.stopwords and t.key not in _LATIN_PARTICLES):
            return 0
        nxt = self.tok(i + 1)
        lex = self.lex
        if nxt is not None and self.joined(i) and f"{t.key} {nxt.key}" in lex.family_names:
            return 2
        if t.key in lex.family_names:
            return 1
        if n := self.given(i):
            return n
        particle = (
            t.key in _ARABIC_PARTICLES
            or (t.key in _LATIN_PARTICLES and (t.cap or t.key in _LATIN_LOWER_PARTICLES))
            or (t.key == _AR_OR and nxt is not None and (nxt.key in lex.family_names or self.given(i + 1)))
        )
        # after a particle any word but a function word, office or institution: "بن الطالب"
        after_particle_ok = nxt is not None and not (
            nxt.key in lex.stopwords or nxt.key in lex.offices or nxt.key in lex.institutions
        )
        if particle and nxt is not None and self.joined(i) and after_particle_ok:
            if nxt.arabic == t.arabic and (nxt.arabic or nxt.cap == t.cap or nxt.cap):
                return 1 + max(1, self.given(i + 1))  # "بن عبد الله": the particle and a whole name
        if t.arabic:
            if self.nisba(t.key):
                return 1
            if (
                not listed_only
                and t.key.startswith(_ATTACHED)
                and len(t.key) >= 5
                and not self.denied(t.key)
                and t.key not in lex.places
            ):
                return 1
        return 0

    def unknown_name_word(self, i: int) -> bool:
        """An unlisted word that may still be part of a name (when punctuation follows it)."""
        t = self.tok(i)
        if t is None or self.denied(t.key) or t.key in self.lex.places or len(t.key) < 2:
            return False
        if t.arabic and t.text[0] == "و":
            return False
        return self.cue_at(i) is None  # "مراتي اسمها نزهة", "الاسم: كريمة النسب: ..."

    # ------------------------------------------------------------------ extension
    def extend(self, i: int, first: int, *, loose_last: bool, capitalised: bool) -> int:
        """End (exclusive token index) of a name whose first `first` tokens start at i."""
        j = i + first
        has_family = False
        while j - i < self.max_words and self.joined(j - 1):
            t = self.toks[j]
            if t.arabic != self.toks[i].arabic:
                break
            if capitalised and not t.arabic:
                if not t.cap and not (t.key in _LATIN_LOWER_PARTICLES and self.joined(j)):
                    break
                if self.denied(t.key) and t.key not in _LATIN_PARTICLES:
                    break
                if t.key in _ROMAN:
                    break
                n = self.family(j) or 1
            else:
                n = self.family(j)
                if not n:
                    # an unlisted family name, when nothing has given one yet and punctuation follows
                    if loose_last and not has_family and self.boundary_after(j) and self.unknown_name_word(j):
                        j += 1
                    break
                has_family |= not self.given(j)
            j += n
        # a name does not end on a particle
        while j - i > first and self.toks[j - 1].key in _LATIN_PARTICLES | _ARABIC_PARTICLES:
            j -= 1
        return min(j, i + self.max_words)

    def whole_phrase(self, i: int) -> int:
        """End of the phrase of name-like words from i up to punctuation, if it is short and has no
        stop word, office or institution in it (after an introduction: "اسمي زهرة أومولود،")."""
        j = i
        while j - i < self.max_words:
            t = self.toks[j]
            if t.arabic != self.toks[i].arabic or self.denied(t.key) and t.key not in _LATIN_PARTICLES:
                return i
            if t.arabic and j > i and t.text[0] == "و" and not self.family(j):
                return i
            j += 1
            if self.boundary_after(j - 1):
                return j
            if not self.joined(j - 1):
                return i
        return i

    # ------------------------------------------------------------------ vetoes
    def vetoed(self, i: int, j: int) -> bool:
        words = [t.key for t in self.toks[i:j]]
        lex = self.lex
        phrase = " ".join(words)
        if phrase in lex.places or phrase in lex.institutions or phrase in lex.offices:
            return True
        if all(w in lex.places or self.denied(w) or w in _ROMAN for w in words):
            return True
        if any(w in _ROMAN for w in words[1:]) and not self.toks[j - 1].arabic:
            return True
        nxt = self.tok(j)
        if nxt is not None and self.joined(j - 1) and (nxt.key in _ROMAN and nxt.text.isupper()):
            return True  # "Mohammed VI", "Hassan II"
        if (
            nxt is not None
            and nxt.arabic
            and self.joined(j - 1)
            and nxt.key in {key(w) for w in ("الأول", "الثاني", "الثالث", "الرابع", "الخامس", "السادس")}
        ):
            return True  # "محمد السادس", "الحسن الثاني"
        prev = self.tok(i - 1)
        if prev is not None and self.joined(i - 1):
            k = prev.bare_key
            if k in STREET or k in ADMIN:
                return True  # a street or an area named after someone
            if k in lex.organisations:
                return True  # "l'association Al Amal", "lycée Moulay Youssef", "جمعية النور"
            if k in _HIGH_OFFICE:
                return True
        for back in range(1, 4):
            p = self.tok(i - back)
            if p is not None and p.key in _ROYAL:
                return True
        return False

    def add(self, i: int, j: int, score: float) -> None:
        if j <= i or self.vetoed(i, j):
            return
        start, end = self.toks[i].start, self.toks[j - 1].end
        self.found.append(Entity(EntityType.PERSON.value, start, end, self.text[start:end], score))

    # ------------------------------------------------------------------ passes
    def cue_at(self, i: int) -> tuple[str, int] | None:
        """(kind, index of the first token after the cue) when a name cue starts at token i."""
        best: tuple[str, int] | None = None
        t0 = self.toks[i]
        index = _cue_index()
        candidates = index.get(t0.key, []) + (index.get(t0.bare_key, []) if t0.bare_key != t0.key else [])
        for kind, words, plain in candidates:
            n = len(plain)
            toks = self.toks[i : i + n]
            if len(toks) < n:
                continue
            if [t.key for t in toks[1:]] != list(plain[1:]):
                continue
            if any(
                not self.joined(i + m)
                and self.text[toks[m].end : toks[m + 1].start].strip() not in {"'", "’"}
                for m in range(n - 1)
            ):
                continue
            last = toks[-1]
            if words[-1] == ".":
                if self.text[last.end : last.end + 1] != ".":
                    continue
            if kind == "titles":
                written = self.text[toks[0].start : last.end + (1 if words[-1] == "." else 0)]
                if len(written.rstrip(".")) <= 2 and written not in self.lex.exact_titles:
                    continue
            if best is None or i + n > best[1]:
                best = (kind, i + n)
        return best

    def after_cue(self, c: int, *, colon: bool = False) -> int | None:
        """Index of the first name token after a cue ending before token c (fillers skipped);
        `colon`: only when a colon follows the cue (form labels)."""
        prev_end = self.toks[c - 1].end
        if self.text[prev_end : prev_end + 1] == ".":
            prev_end += 1
        while (t := self.tok(c)) is not None:
            gap = self.text[prev_end : t.start]
            if not _CUE_GAP.match(gap) or (colon and ":" not in gap):
                return None
            colon = False
            if any(t.key == f[0] for f in self.lex.name_cues["fillers"]):
                prev_end, c = t.end, c + 1
                continue
            return c
        return None

    def from_cue(self, kind: str, s: int) -> None:
        t = self.toks[s]
        score = self.score["context"]
        if t.key in self.lex.offices or t.key in self.lex.institutions:
            return  # "M. le ministre", "السيد رئيس الحكومة"
        if (title := self.cue_at(s)) is not None and title[0] == "titles":
            return  # "mon voisin M. Driss ...": the title's own cue takes the name
        given = self.given(s)
        if kind == "introduce":
            # a known first word: the name is what the lists explain (so "باسم أمين الحمداني بدل ..."
            # stops before "بدل"); else the short phrase up to the punctuation
            first = given or self.family(s)
            if first:
                self.add(s, self.extend(s, first, loose_last=True, capitalised=t.cap and not t.arabic), score)
            elif (end := self.whole_phrase(s)) > s:
                self.add(s, end, score)
            return
        if not t.arabic and t.cap:
            if kind == "self" and not (given or t.key in self.lex.family_names or self.ner_covers(s, s + 1)):
                return
            self.add(s, self.extend(s, given or 1, loose_last=False, capitalised=True), score)
            return
        if given:
            self.add(s, self.extend(s, given, loose_last=True, capitalised=False), score)
        elif kind in ("titles", "relation") and t.arabic and (first := self.family(s)):
            self.add(s, self.extend(s, first, loose_last=True, capitalised=False), score)
        elif (
            t.arabic
            and not t.key.startswith("ال")
            and self.unknown_name_word(s)
            and self.joined(s)
            and self.family(s + 1, listed_only=True)
        ):
            # an unlisted given name, then a family name: "جدتي يطو أوعلي", "أنا رقية الشاوي"
            self.add(s, self.extend(s, 1, loose_last=True, capitalised=False), score)

    def sentence_start(self, i: int) -> bool:
        """Token i starts the text or a sentence (its capital says nothing)."""
        before = self.text[: self.toks[i].start].rstrip(" \"«“'(")
        return not before or before[-1] in ".!?:;\n"

    def ner_covers(self, i: int, j: int) -> bool:
        start, end = self.toks[i].start, self.toks[j - 1].end
        return any(min(end, e) - max(start, s) >= (end - start) / 2 for s, e in self.ner)

    def capitalised_runs(self) -> None:
        i = 0
        toks = self.toks
        while i < len(toks):
            t = toks[i]
            if t.arabic or not t.cap:
                i += 1
                continue
            j = i + 1
            while j < len(toks) and self.joined(j - 1) and not toks[j].arabic:
                if toks[j].cap or (
                    toks[j].key in _LATIN_LOWER_PARTICLES and self.joined(j) and toks[j + 1].cap
                ):
                    j += 1
                else:
                    break
            self.classify_run(i, j)
            i = j

    def classify_run(self, i: int, j: int) -> None:
        lex = self.lex
        if any(t.key in lex.organisations for t in self.toks[i:j]):
            return  # "Nour Energy", "Atlas Clean SARL", "Clinique Al Amal"
        # trim ordinary words, titles and cues at the edges ("My", "Dear", "Mme", "Bonjour")
        while (
            i < j and (self.denied(self.toks[i].key) or self.toks[i].key in lex.places) and not self.given(i)
        ):
            if self.toks[i].key in lex.places and j - i > 1 and self.given(i + 1) == 0 and self.family(i + 1):
                break  # a family name that is also a place ("Benslimane")
            i += 1
        while j > i and self.denied(self.toks[j - 1].key) and not self.family(j - 1):
            j -= 1
        if i >= j:
            return
        words = j - i
        given = any(self.given(m) for m in range(i, min(j, i + 2)))
        family = any(self.family(m) and not self.given(m) for m in range(i + 1, j)) or (
            words >= 2 and self.toks[i].key in lex.family_names
        )
        ner = self.ner_covers(i, j)
        if words >= 2 and given:
            self.add(i, j, self.score["known_name"])
        elif words >= 2 and (ner or family):
            self.add(i, j, self.score["ner"])
        elif words == 1 and given and (ner or not self.sentence_start(i)):
            # a listed given name alone, capitalised inside a sentence ("our nanny, Fatiha, ...")
            self.add(i, j, self.score["ner"])

    def lower_case_names(self) -> None:
        """A listed given name and a family name in lower case, without a cue ("youssef el amrani").
        spaCy's NER is not consulted here: it is only read for capitalised words (detector.detect)."""
        for i, t in enumerate(self.toks):
            if t.arabic or t.cap:
                continue
            if n := self.given(i):
                end = self.extend(i, n, loose_last=False, capitalised=False)
                if end - i > n and any(self.family(m) for m in range(i + n, end)):
                    self.add(i, end, self.score["known_name"])

    def arabic_names(self) -> None:
        """A listed given name and a family name, in Arabic script, without a cue."""
        for i, t in enumerate(self.toks):
            if not t.arabic:
                continue
            if n := self.given(i):
                end = self.extend(i, n, loose_last=False, capitalised=False)
                if end - i > n:
                    self.add(i, end, self.score["known_name"])

    def run(self) -> list[Entity]:
        for i in range(len(self.toks)):
            cue = self.cue_at(i)
            if cue is not None and (s := self.after_cue(cue[1], colon=cue[0] == "labels")) is not None:
                self.from_cue("introduce" if cue[0] == "labels" else cue[0], s)
        self.capitalised_runs()
        self.lower_case_names()
        self.arabic_names()
        return self.found


def _spelling_variant(k: str) -> str:
    """The other usual spelling of a final long a in Arabic names: رانيا / رانية (folded رانيه)."""
    if k.endswith("ا"):
        return k[:-1] + "ه"
    if k.endswith("ه"):
        return k[:-1] + "ا"
    return k


@cache
def _cue_index() -> dict[str, list[tuple[str, tuple[str, ...], tuple[str, ...]]]]:
    """Name cues by their first word: (kind, words as written in the list, words without '.')."""
    lex = lexicon()
    index: dict[str, list[tuple[str, tuple[str, ...], tuple[str, ...]]]] = {}
    for kind in ("introduce", "labels", "relation", "self", "titles"):
        for words in lex.name_cues[kind]:
            plain = tuple(w for w in words if w != ".")
            if plain:
                index.setdefault(plain[0], []).append((kind, words, plain))
    return index


def find_person_names(
    text: str, ner_spans: Sequence[tuple[int, int]] = (), tuning: Tuning = TUNING
) -> list[Entity]:
    """Every person-name candidate (overlapping ones included) in `text`; `ner_spans` are the
    (start, end) of spaCy's PER entities, if a model ran."""
    return _Finder(text, ner_spans, tuning).run()
