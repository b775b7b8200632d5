"""Personal postal addresses, French / Arabic / English: the whole span from the street (or building,
or douar) to the city, as eval/privacy/README.md labels them.

An address is anchored on a street word (rue, avenue, Bd, impasse, derb, lotissement, résidence,
street, road, زنقة, شارع, درب, حي, تجزئة, إقامة, دوار...) and needs a house number before it
("45 Bd Mohammed V", "3, impasse des Orangers", "45 شارع محمد الخامس") or after its name
("Lot. Al Wifaq n° 112", "زنقة المامون رقم 7"), or a flat or floor ("Résidence Nour, Imm 3"); a
douar needs its commune or province. It then runs through the segments that follow it, separated
by commas or spaces: flat/floor/building with a number, an administrative word and its name
("quartier Palmier", "province de Tiznit", "حي السلام", "جماعة أملن"), a postal code, a known
place (data/places.txt), or, between commas, a short capitalised name ("Gueliz"). So a street
without a number ("avenue Mohammed V à Rabat": a public office's address), a neighbourhood or a
city on its own ("Hay Salam, à Salé") is never an address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.privacy.entities import Entity, EntityType
from assistant.privacy.lexicon import is_arabic, key, lexicon
from assistant.textnorm import to_ascii_digits
from assistant.tuning import TUNING, Tuning

_TOKEN = re.compile(r"[nN]°|[^\W_]+(?:['’\-][^\W_]+)*|\S", re.UNICODE)


def _keys(words: str) -> frozenset[str]:
    return frozenset(key(w) for w in words.split())


STREET = _keys(
    "rue avenue av bd boulevard impasse imp derb allée route rte chemin lotissement lot résidence residence "
    "res cité cite street st road rd lane avenue zankat zenqa zanqa ruelle passage place angle hay quartier "
    "douar زنقة الزنقة شارع الشارع درب حي تجزئة التجزئة إقامة الإقامة زقاق ممر ساحة دوار الدوار"
)
# English street words written after the street's name ("12 Palm Street")
POSTFIX = _keys("street st road rd lane avenue boulevard drive way")
# Street words that are also ordinary words: the name after them must be capitalised.
AMBIGUOUS_STREET = _keys("place route chemin passage angle lane st lot cite cité res")
ABBREVIATIONS = _keys("av bd imp rte res st rd lot appt app apt imm bat qt")
UNIT = _keys(
    "appt app apt appartement apartment flat étage etage floor bloc block immeuble imm bâtiment batiment bat "
    "villa porte entrée entree building suite unit gh escalier شقة الشقة الطابق طابق عمارة العمارة رقم "
    "بلوك فيلا منزل الباب"
)
ADMIN = _keys(
    "quartier hay commune cercle caïdat caidat province préfecture prefecture région region arrondissement "
    "district cr secteur حي الحي جماعة الجماعة إقليم اقليم عمالة دائرة قيادة مقاطعة جهة"
)
RURAL = _keys("douar دوار الدوار")
NUMBER_WORDS = _keys("n° no numéro numero number nr رقم")
ORDINAL_FLOOR = re.compile(r"^\d+(?:e|er|ère|eme|ème|nd|rd|th|st)$", re.IGNORECASE)
NAME_PARTICLES = _keys("de des du la le l d' el al ibn ben bin ait aït ou sidi moulay lalla bab ain aïn oued")
STOP = _keys(
    "à au aux et ou or and in at on to for pour avec with qui que dont où where près near depuis since chez "
    "par by mais but في من إلى الى على عن مع"
)
_PUNCT_END = frozenset(',;:.()!?،؛"«»[]')


@dataclass(frozen=True)
class _Tok:
    text: str
    start: int
    end: int
    key: str

    @property
    def is_number(self) -> bool:
        return self.text.isdigit()

    @property
    def is_word(self) -> bool:
        return self.text[0].isalpha() or self.text.lower() == "n°"

    @property
    def capitalised(self) -> bool:
        return self.text[0].isupper() or is_arabic(self.text)


def _tokens(text: str) -> list[_Tok]:
    return [_Tok(m.group(), m.start(), m.end(), key(m.group())) for m in _TOKEN.finditer(text)]


class _Scanner:
    def __init__(self, text: str, tuning: Tuning) -> None:
        self.text = text
        self.toks = _tokens(to_ascii_digits(text))
        self.lex = lexicon()
        self.max_words = tuning.privacy_name_max_words

    def tok(self, i: int) -> _Tok | None:
        return self.toks[i] if 0 <= i < len(self.toks) else None

    def is_house_number(self, i: int) -> bool:
        t = self.tok(i)
        return t is not None and t.is_number and len(t.text) <= 5

    def place_len(self, i: int) -> int:
        """Words of a known place starting at token i (0 if none); "بالرباط", "فالرباط" count."""
        for n in (3, 2, 1):
            words = [self.tok(j) for j in range(i, i + n)]
            if any(w is None or not w.is_word for w in words):
                continue
            if any(words[j].start != words[j - 1].end + 1 for j in range(1, n)):  # type: ignore[union-attr]
                continue
            phrase = " ".join(w.key for w in words)  # type: ignore[union-attr]
            if phrase in self.lex.places:
                return n
            if n == 1 and is_arabic(phrase) and phrase[:1] in "بف" and phrase[1:] in self.lex.places:
                return 1
        return 0

    def name_words(self, i: int, *, capitalised_first: bool = False) -> int:
        """How many tokens from i form a street or area name (stops at punctuation, numbers,
        address words, stop words; Arabic also at a known place)."""
        n = 0
        while n < self.max_words:
            t = self.tok(i + n)
            if t is None or not t.is_word or t.text in _PUNCT_END:
                break
            if n and (t.key in UNIT or t.key in ADMIN or t.key in STREET or t.key in NUMBER_WORDS):
                break
            if t.key in STOP or (is_arabic(t.text) and t.text[0] == "و" and n):
                break
            if n and is_arabic(t.text) and self.place_len(i + n):
                break
            if n == 0 and capitalised_first and not t.capitalised:
                break
            n += 1  # lower-case words are fine ("rue ibn sina")
        # a name does not end on a particle ("rue de")
        while n and self.tok(i + n - 1).key in NAME_PARTICLES - _keys("ibn ben ait"):  # type: ignore[union-attr]
            n -= 1
        return n

    def number_after(self, i: int) -> int:
        """Tokens of "n° 112" / "رقم 7" / "no. 5" at i (0 if none)."""
        t = self.tok(i)
        if t is None or t.key not in NUMBER_WORDS:
            return 0
        j = i + 1
        if (d := self.tok(j)) is not None and d.text == ".":
            j += 1
        if self.is_house_number(j):
            return j + 1 - i
        return 0

    def unit(self, i: int) -> int:
        """Tokens of "appt 3", "Apt 4", "étage 2", "2e étage", "الطابق 3", "Imm. 3" at i (0 if none)."""
        t = self.tok(i)
        if t is None:
            return 0
        if t.key in UNIT:
            j = i + 1
            if (d := self.tok(j)) is not None and d.text == "." and t.key in ABBREVIATIONS:
                j += 1
            if (n := self.tok(j)) is not None and n.key in NUMBER_WORDS:
                j += 1
            if (n := self.tok(j)) is not None and (n.is_number or (len(n.text) <= 3 and n.text[0].isdigit())):
                return j + 1 - i
            return 0
        if (
            ORDINAL_FLOOR.match(t.text)
            and (f := self.tok(i + 1)) is not None
            and f.key in _keys("étage floor")
        ):
            return 2
        return 0

    def segment(self, i: int, after_comma: bool) -> tuple[int, bool]:
        """(tokens, is_unit) of the address segment starting at i; (0, False) when none."""
        if n := self.unit(i):
            return n, True
        if n := self.number_after(i):
            return n, True
        t = self.tok(i)
        if t is None or not t.is_word and not t.is_number:
            return 0, False
        if t.key in ADMIN:
            j = i + 1
            if (p := self.tok(j)) is not None and p.key in _keys("de du d' of"):
                j += 1
            if n := self.name_words(j):
                return j + n - i, False
            return 0, False
        if t.is_number and len(t.text) == 5 and (n := self.place_len(i + 1)):  # postal code + city
            return 1 + n, False
        if t.key in _keys("à a in ف ب") and (n := self.place_len(i + 1)):
            return 1 + n, False
        if n := self.place_len(i):
            return n, False
        if after_comma and not is_arabic(t.text):
            n = 0
            while n < 3 and (w := self.tok(i + n)) is not None and w.is_word and w.text not in _PUNCT_END:
                if not (w.capitalised or (n and w.key in NAME_PARTICLES)):
                    return 0, False
                if w.key in self.lex.not_names or w.key in self.lex.stopwords:
                    return 0, False
                n += 1
            nxt = self.tok(i + n)
            if n and (nxt is None or nxt.text in _PUNCT_END):
                return n, False
        return 0, False

    def unit_ending_at(self, i: int) -> int | None:
        """First token of a flat/floor/building unit ("Apt 4", "Imm. 12", "Appt n° 3") whose number
        is token i, or None."""
        for width in (2, 3, 4):
            u = i - width + 1
            if u >= 0 and self.unit(u) == width:
                return u
        return None

    def units_before(self, j: int, start: int) -> int:
        """Start of the flats, floors and buildings written before token j ("Flat 2, 9 Rue...",
        "App. 5, Imm. 12, Résidence...", "عمارة 5 شقة 12 إقامة...")."""
        while True:
            i = j - 1
            if (c := self.tok(i)) is not None and c.text in {",", "،"}:
                i -= 1
            u = self.unit_ending_at(i)
            if u is None:
                return start
            j, start = u, self.toks[u].start

    def postfix_start(self, k: int) -> int | None:
        """Index of the house number of "12 Palm Street" / "5 Oxford Rd" (the street word at k)."""
        n = 0
        while (
            n < 3
            and (w := self.tok(k - 1 - n)) is not None
            and w.is_word
            and w.capitalised
            and w.key not in STREET
        ):
            n += 1
        if n and self.is_house_number(k - 1 - n):
            return k - 1 - n
        return None

    def building_at(self, k: int) -> tuple[int, int] | None:
        """(start, end) of "Imm 12, Appt 3, Hay Nahda, Rabat": a building and its number, then at
        least one area or place segment."""
        n = self.unit(k)
        if not n:
            return None
        start = self.units_before(k, self.toks[k].start)
        i, end, has_area = k + n, self.toks[k + n - 1].end, False
        while True:
            j = i
            comma = False
            if (c := self.tok(j)) is not None and c.text in {",", "،"}:
                comma, j = True, j + 1
            m, is_unit = self.segment(j, comma)
            if not m:
                break
            has_area |= not is_unit
            i = j + m
            end = self.toks[i - 1].end
        return (start, end) if has_area else None

    def address_at(self, k: int) -> tuple[int, int] | None:
        """(start, end) of the address anchored on the street word at token k, or None."""
        anchor = self.toks[k]
        start = anchor.start
        has_number = False
        # house number before: "45 Bd", "3, impasse", "N° 12 rue", "رقم 12 زنقة"; a flat before it:
        # "Flat 2, 9 Rue de Fès"
        j = k - 1
        if (c := self.tok(j)) is not None and c.text == ",":
            j -= 1
        has_unit = False
        if anchor.key in POSTFIX and (p := self.postfix_start(k)) is not None:
            # "12 Palm Street": the number and the name come before the street word
            has_number, start = True, self.units_before(p, self.toks[p].start)
            i = k + 1
            end = anchor.end
            if (d := self.tok(i)) is not None and d.text == "." and anchor.key in ABBREVIATIONS:
                i += 1
                end = d.end
            return self.tail(anchor, start, i, end, has_number, False)
        if self.is_house_number(j):
            if (u := self.unit_ending_at(j)) is not None:  # "Imm. 12 Résidence", "شقة 12 إقامة"
                has_unit = True
                start = self.units_before(u, self.toks[u].start)
            else:
                has_number = True
                start = self.toks[j].start
                if (w := self.tok(j - 1)) is not None and w.key in NUMBER_WORDS:
                    j -= 1
                    start = w.start
                start = self.units_before(j, start)
        else:
            start = self.units_before(k, start)
        i = k + 1
        if (d := self.tok(i)) is not None and d.text == "." and anchor.key in ABBREVIATIONS:
            i += 1
        if anchor.key in AMBIGUOUS_STREET and not has_number:
            n = self.name_words(i, capitalised_first=True)
        else:
            n = self.name_words(i, capitalised_first=anchor.key in AMBIGUOUS_STREET)
        if n == 0:
            if self.is_house_number(i) and self.tok(i + 1) is not None:  # "زنقة 5", "Rue 12"
                n = 1
            else:
                return None
        i += n
        end = self.toks[i - 1].end
        if n2 := self.number_after(i):
            has_number = True
            i += n2
            end = self.toks[i - 1].end
        return self.tail(anchor, start, i, end, has_number, has_unit)

    def tail(
        self, anchor: _Tok, start: int, i: int, end: int, has_number: bool, has_unit: bool
    ) -> tuple[int, int] | None:
        """The address from `start`, its core ending before token i (at `end`), extended through
        the segments that follow; None when it has no number, flat or (douar) commune."""
        has_admin = False
        while True:
            j = i
            comma = False
            if (c := self.tok(j)) is not None and c.text in {",", "،"}:
                comma = True
                j += 1
            n, is_unit = self.segment(j, comma)
            if not n:
                break
            has_unit |= is_unit
            has_admin |= not is_unit
            i = j + n
            end = self.toks[i - 1].end
        if anchor.key in RURAL:
            return (start, end) if has_admin else None
        return (start, end) if has_number or has_unit else None


BUILDING = _keys("immeuble imm bloc block gh villa عمارة العمارة بلوك فيلا")


def find_addresses(text: str, tuning: Tuning = TUNING) -> list[Entity]:
    scanner = _Scanner(text, tuning)
    score = tuning.privacy_scores["context"]
    found: list[Entity] = []
    covered_until = -1
    for k, t in enumerate(scanner.toks):
        if t.start < covered_until:
            continue
        # an Arabic street word may carry a preposition: "بدوار", "فزنقة" (the address starts after it)
        prefixed = is_arabic(t.text) and t.key[:1] in "بفل" and t.key[1:] in STREET
        if t.key not in STREET and not prefixed:
            continue
        if prefixed:
            scanner.toks[k] = t = _Tok(t.text[1:], t.start + 1, t.end, t.key[1:])
        span = scanner.address_at(k)
        if span is None:
            continue
        start, end = span
        found.append(Entity(EntityType.ADDRESS.value, start, end, text[start:end], score))
        covered_until = end
    for k, t in enumerate(scanner.toks):
        # a building with its number and an area or city, without a street word
        if t.key not in BUILDING or any(e.start <= t.start < e.end for e in found):
            continue
        span = scanner.building_at(k)
        if span is None:
            continue
        start, end = span
        found.append(Entity(EntityType.ADDRESS.value, start, end, text[start:end], score))
        covered_until = end
    return found
