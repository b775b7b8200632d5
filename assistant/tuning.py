"""Every calibrated or arbitrary number Dalil's behaviour depends on, in one place, each with its
origin: measured on what, taken from which paper or convention, or set by hand.

Code reads them from `TUNING` (or from `Settings.tuning`, which applies the overrides an operator
may set through DALIL_* variables; see `Settings`). `docs/tuning.md` is rendered from this module
(`python -m assistant.tuning`), and a test keeps the two identical. A number that is not a
protocol constant or a pure display choice belongs here: if you add one, give it an origin.

The evaluation report prints the margins the refusal calibration depends on (lowest relevance
among answerable questions, highest among unanswerable ones, per language), so a calibration
that stops holding is seen rather than trusted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def tuned(value: Any, origin: str, group: str) -> Any:
    """A tuning field: its default value, where it comes from, and the subsystem it belongs to."""
    if isinstance(value, dict):
        frozen = dict(value)
        return field(default_factory=lambda: dict(frozen), metadata={"origin": origin, "group": group})
    return field(default=value, metadata={"origin": origin, "group": group})


_DEV = "dev.jsonl (40 questions, ../shared/corpora/eval)"


@dataclass(frozen=True)
class Tuning:
    # ---------------------------------------------------------------- refusal
    min_similarity: dict[str, float] = tuned(
        {"multilingual-e5-small-q4": 0.833, "use-multilingual-v3": 0.30},
        f"Reference point of the question's cosine with its closest visible chunk, per dense encoder: the "
        f"refusal decision (refusal_weights) reads the cosine minus this value, so that one set of weights "
        f"serves encoders of different scales. e5: {_DEV}: every answerable question (cross-lingual "
        "included) scores >= 0.839, the off-corpus passport-fee question 0.826; the value sits between. "
        "USE v3: set by hand on the same set, not recalibrated. Override: DALIL_REFUSAL_THRESHOLD (a "
        "higher value refuses more).",
        "refusal",
    )
    refusal_weights: dict[str, float] = tuned(
        {
            "bias": -1.04,
            "similarity": 38.852,
            "named_unknown": -1.089,
            "future": -4.694,
            "amount_missing": -2.589,
            "country_unknown": -1.708,
            "lang_ar": -0.313,
            "lang_en": 1.863,
        },
        "Logistic model of 'the indexed texts answer this question' (assistant/refusal.py) over the "
        "question's cosine with its closest chunk minus min_similarity (similarity), a name or acronym no "
        "indexed chunk contains ('Tunisie', 'SARL': named_unknown), a year after the current one (future), "
        "a question asking for a sum or a rate that no top passage states (amount_missing), a country no "
        "indexed text names in any language (country_unknown) "
        "and the question's language (lang_ar, lang_en: the encoder's cosines run lower across languages). "
        "Calibrated on the calibration half of eval/sets/questions.jsonl (206 questions; 138 answerable, 68 "
        "unanswerable, 40 of them near misses written after the first fit and never seen by it), on an "
        "index of the cleaned texts: L2-regularised (1.0 on standardised features), classes weighted "
        "equally, fitted with numpy. Left out because they do not separate on that half: coverage of the "
        "question's words by the passages (weight negative: the near misses share the corpus' words), the "
        "share of words no text contains, the best sentence-level cosine of the top passages (AUC 0.61 "
        "against 0.71 for the chunk cosine). The first fit (on the 146 questions of the first half) refused "
        "61 % of its own unanswerable questions but 25 % of the 80 near misses written afterwards.",
        "refusal",
    )
    refusal_log_odds: float = tuned(
        -1.6,
        "Log-odds of refusal_weights below which Dalil refuses. Calibrated on the calibration half of "
        "eval/sets/questions.jsonl (206 questions) for at most 3 % of answerable questions refused: -2.0 / "
        "-1.75 / -1.6 / -1.5 / -1.4 / -1.25 / -1.0 refuse 1.4 / 2.2 / 2.2 / 2.9 / 3.6 / 5.1 / 8.7 % of "
        "answerable and 35 / 44 / 46 / 50 / 51 / 53 / 60 % of unanswerable questions (every refusal counted: "
        "not a question, nothing in force at the asked date, a named text not indexed); -1.6, the upper end "
        "of the 2.2 % plateau, keeps one question of room below 3 %. Reaching 90 % of unanswerable refused "
        "with these signals would refuse about half of the answerable questions.",
        "refusal",
    )
    confident_margin: float = tuned(
        2.5,
        "An extractive answer says its quotes answer the question only when the decision's margin (log-odds "
        "minus refusal_log_odds) is at least this; below, it presents them as the closest provisions found. "
        "Calibrated on the calibration half of eval/sets/questions.jsonl (206 questions): 1.5 / 2.0 / 2.5 / "
        "3.0 put 21 / 27 / 30 / 36 of the 37 unanswerable questions that are not refused, and 20 / 32 / 48 / "
        "70 % of the answerable ones, below it; 2.5 (log-odds +0.9).",
        "refusal",
    )
    period_check_results: int = tuned(
        3,
        "How many of the most relevant results (by score, before validity moves texts down) are checked "
        "for 'no text of this series was in force at the asked date' (successive decrees such as the "
        "minimum-wage ones). Set by hand: the top 3; see docs/tuning.md's refusal figures for its effect.",
        "refusal",
    )
    cited_subject_min_words: int = tuned(
        3,
        f"A question's subject is 'governed by a cited but unindexed text' when at least this many "
        f"consecutive content words of the question appear in that text's title as the passages cite it. "
        f"Set by hand on {_DEV} (4/4 unanswerable refused, 0/36 answerable).",
        "refusal",
    )
    name_window_slack: int = tuned(
        2,
        "A question names a text by one of its names (corpora/*.yaml `names`) when all the name's words are "
        "within a window of the question this many words longer than the name ('le Code marocain du "
        "travail'). Set by hand.",
        "retrieval",
    )
    cited_title_chars: int = tuned(
        200,
        "How far after a cited law number its title is read. Arbitrary: longer than any title in the corpus.",
        "refusal",
    )
    # ---------------------------------------------------------------- retrieval
    rrf_k: int = tuned(
        60,
        "Reciprocal rank fusion constant: Cormack, Clarke & Buettcher, SIGIR 2009; Qdrant's own default. "
        "Used by the engines' fusion and by the reference boost's merge.",
        "retrieval",
    )
    cross_language_weight: float = tuned(
        0.2,
        f"Weight of the dense and glossary legs restricted to a language other than the question's. "
        f"{_DEV}: 0.1-0.2 equally good, 1.0 loses 0.06 excerpt recall@5. Override: "
        "DALIL_CROSS_LANGUAGE_WEIGHT.",
        "retrieval",
    )
    named_text_cross_weight: float = tuned(
        0.0,
        "Weight of the other languages' dense and glossary legs inside a text the question names, when that "
        "text is indexed in the question's language (its other-language version is the same text; legs "
        "restricted to another language counted its chunks twice, once there and once in the legs over "
        "every language). Calibrated on the calibration half of eval/sets/questions.jsonl: 1.0 (before) / "
        "0.5 / 0.2 / 0.1 / 0 give recall@5 0.798 / 0.798 / 0.798 / 0.798 / 0.806 and MRR 0.616 / 0.617 / "
        "0.623 / 0.623 / 0.630. 0 = no such legs (the learned-lexicon leg stays).",
        "retrieval",
    )
    learned_lexicon_weight: float = tuned(
        0.1,
        "RRF weight of the leg that searches the question's terms, translated by the lexicon learned from "
        "the parallel texts (assistant/lexicon/learned.py), in the texts that exist only in another "
        "language. Calibrated on the calibration half of eval/sets/questions.jsonl (with "
        "learned_lexicon_margin 0.05): 0 (off) / 0.05 / 0.1 / 0.2 / 0.4 give recall@5 0.768 / 0.790 / 0.798 / "
        "0.798 / 0.798 (hit@5 0.958 but 0.949 at 0.4) and cross-lingual recall@5 0.690 / 0.793 / 0.828 / "
        "0.828 / 0.828. Searching the parallel texts too lost 0.07 recall@5 on same-language factual "
        "questions (their other-language version crowds the top 5). 0 turns it off.",
        "retrieval",
    )
    learned_lexicon_margin: float = tuned(
        0.05,
        "The learned-lexicon leg is searched only when the closest chunk of the texts that exist only in the "
        "other language is within this cosine of the closest chunk in the question's language (the answer "
        "may be there). Calibrated on the calibration half of eval/sets/questions.jsonl: 0 / 0.02 / 0.03 / "
        "0.05 / 0.07 / 0.1 / 1 (always) give recall@5 0.773 / 0.781 / 0.790 / 0.798 / 0.794 / 0.794 / 0.794 "
        "and MRR 0.617 / 0.621 / 0.628 / 0.615 / 0.609 / 0.597 / 0.587; always searching it also cost one "
        "dev.jsonl question (a French question on law 19-12 answered from the Arabic-only model-contract "
        "decree). 1 = always.",
        "retrieval",
    )
    learned_lexicon_iterations: int = tuned(
        8,
        "IBM Model 1 EM iterations of the learned lexicon. Convention (Brown et al. 1993 use 5-10; the "
        "table changes little after 5 on the corpus' 648 aligned articles).",
        "retrieval",
    )
    learned_lexicon_min_df: int = tuned(
        2,
        "A term takes part in the learned lexicon when it occurs in at least this many aligned articles. "
        "Convention: a term seen once cannot be told from its neighbours.",
        "retrieval",
    )
    learned_lexicon_keep: int = tuned(
        3,
        "Translations kept per term in the learned lexicon. Calibrated on the calibration half of "
        "eval/sets/questions.jsonl: 2 (with floor 0.3) / 3 / 5 give recall@5 0.790 / 0.794 / 0.794.",
        "retrieval",
    )
    learned_lexicon_floor: float = tuned(
        0.1,
        "Least translation probability kept in the learned lexicon. Calibrated on the calibration half of "
        "eval/sets/questions.jsonl: 0.05 / 0.1 / 0.2 equal (recall@5 0.794), 0.3 loses ar->fr 0.125.",
        "retrieval",
    )
    cross_language_lift_margin: float = tuned(
        0.05,
        "The legs of another language weigh cross_language_lifted_weight instead of cross_language_weight "
        "when that language's closest chunk is within this cosine of the closest chunk in the question's "
        "own language (the answer may be only there). Calibrated on the calibration half of "
        "eval/sets/questions.jsonl: 0 (off) / 0.02 / 0.05 / 0.1 give source hit@5 0.898 / 0.924 / 0.958 / "
        "0.941 and cross-lingual recall@5 0.621 / 0.655 / 0.690 / 0.690. 0 turns it off.",
        "retrieval",
    )
    cross_language_lifted_weight: float = tuned(
        1.0,
        "RRF weight of a lifted language's legs (see cross_language_lift_margin): as much as the question's "
        "own. Calibrated on the calibration half of eval/sets/questions.jsonl: 0.5 / 0.7 / 1.0 / 1.5 give "
        "recall@5 0.726 / 0.734 / 0.734 / 0.743 and hit@5 0.932 / 0.941 / 0.958 / 0.958; 1.0 kept (the "
        "simplest rule within one question of the best).",
        "retrieval",
    )
    cross_language_absent_weight: float = tuned(
        0.35,
        "Weight of the per-language legs when no indexed text is in the question's language (English "
        "questions): every language is then another one. Calibrated on the calibration half of "
        "eval/sets/questions.jsonl: 0.2 / 0.3 / 0.35 / 0.4 / 0.5 / 1.0 give en->ar recall@5 0.43 / 0.43 / "
        "0.57 / 0.57 / 0.57 / 0.71, en->fr 1.0 / 1.0 / 1.0 / 1.0 / 1.0 / 0.86 and overall recall@5 0.751 / "
        "0.743 / 0.751 / 0.751 / 0.743 / 0.743 (dev.jsonl 0.921 at 0.35, 0.894 at 0.5 and 1.0).",
        "retrieval",
    )
    candidates_per_result: int = tuned(
        4,
        "Candidates fetched per result asked (pool = k x this, at least min_candidates). Arbitrary.",
        "retrieval",
    )
    min_candidates: int = tuned(
        30, "Smallest candidate pool, so that re-ranking steps have room. Arbitrary.", "retrieval"
    )
    min_leg_depth: int = tuned(
        50, "Each fused leg fetches at least this many hits before fusion. Arbitrary.", "retrieval"
    )
    named_text_weight: float = tuned(
        1.5,
        f"RRF weight of the ranking inside a text the question names, against 1.0 for the global ranking. "
        f"Set by hand on the named-text questions of {_DEV}.",
        "retrieval",
    )
    passing_text_weight: float = tuned(
        0.5,
        "RRF weight of the ranking inside a text the question only quotes in passing ('les salariés soumis "
        "à la loi 65-99 ...', 'sa CNIE (loi 35-06)': assistant/references.py) against 1.0 for the global "
        "ranking: a nudge, never a filter. Set by hand below 1.0; on the calibration half of "
        "eval/sets/questions.jsonl 0 / 0.5 / 1.0 / 1.5 give the same recall@5 (0.751).",
        "retrieval",
    )
    exact_reference_bonus: float = tuned(
        1.0,
        "Added to the fused score of chunks matching both the named text and the named article: larger "
        "than any RRF score (<= 2/(rrf_k+1)), so they always come first. Convention.",
        "retrieval",
    )
    exact_reference_limit: int = tuned(
        10, "How many chunks of a named text and article are lifted. Arbitrary.", "retrieval"
    )
    not_in_force_demotion: float = tuned(
        3.5,
        "A text not in force on the asked date moves this many ranks down (and never above its "
        "successor). Set by hand; the superseded SMIG decree of the corpus test exercises it.",
        "retrieval",
    )
    parallel_lookup_results: int = tuned(
        10, "Results for which the same article in the parallel text is looked up. Arbitrary.", "retrieval"
    )
    max_query_chars: int = tuned(
        4000,
        "Longest accepted question. Arbitrary (about 600 words; longer is not a question). "
        "Override: DALIL_MAX_QUERY_CHARS.",
        "retrieval",
    )
    max_k: int = tuned(100, "Most results one search may ask for. Arbitrary.", "retrieval")
    query_cache_size: int = tuned(
        512,
        "Memoised query embeddings per process (a question is embedded for retrieval and again for the "
        "relevance check; agents repeat questions). 512 x 384 floats = 0.8 MB. Arbitrary.",
        "retrieval",
    )
    top_k: int = tuned(8, "Results retrieved for an answer. Arbitrary. Override: DALIL_TOP_K.", "retrieval")
    context_k: int = tuned(
        5,
        "Passages given to the model (and so citable). Matches the @5 of the retrieval targets. "
        "Override: DALIL_CONTEXT_K.",
        "retrieval",
    )
    compound_part_min_words: int = tuned(
        3,
        "A part of a compound question with fewer key words than this ('what if he does not?') is joined "
        "to the part before it rather than searched alone (assistant/compound.py). Set by hand on the "
        "questions of eval/sets/questions.jsonl.",
        "retrieval",
    )
    compound_reserved: int = tuned(
        0,
        "Best results of each part of a compound question kept in the final ranking, after the whole "
        "question's compound_after best (0: the parts only shape the extractive answer's key sentences). "
        "Calibrated on the calibration half of eval/sets/questions.jsonl: 0 / 1 / 2 / 3 give recall@5 0.751 "
        "/ 0.743 / 0.734 / 0.72 and multi-hop recall@5 0.762 / 0.690 / 0.690 / 0.655 (dev.jsonl: 0.921 / "
        "0.898): the whole question's ranking already holds both parts' texts more often than a part's own "
        "best does.",
        "retrieval",
    )
    compound_after: int = tuned(
        1,
        "Where the parts' best results go when compound_reserved > 0: after this many of the whole "
        "question's. Calibration half of eval/sets/questions.jsonl: 1 to 4 give the same figures.",
        "retrieval",
    )
    # ---------------------------------------------------------------- sparse (BM25-style)
    bm25_k1: float = tuned(
        1.2, "BM25 term-frequency saturation: Robertson & Zaragoza (2009), the usual default.", "sparse"
    )
    bm25_b: float = tuned(
        0.75, "BM25 length normalisation: Robertson & Zaragoza (2009), the usual default.", "sparse"
    )
    bm25_avg_len: float = tuned(
        150.0,
        "Average document length in terms for the length normalisation (documents are encoded one at a "
        "time, so it is fixed, not computed): about one article chunk of ~1,000 characters. Set by hand, "
        "part of the sparse encoder's identity (changing it needs `dalil ingest --rebuild`).",
        "sparse",
    )
    # ---------------------------------------------------------------- answers
    extractive_quotes: int = tuned(
        3, "Passages quoted by an extractive answer. Arbitrary (readable on one screen).", "answers"
    )
    excerpt_chars: int = tuned(
        480,
        "Target length of a quoted excerpt (whole lines). Arbitrary: about three sentences of an article.",
        "answers",
    )
    key_sentence_min_chars: int = tuned(
        30,
        "A sentence shorter than this is never quoted as the one carrying the answer (headings, "
        "numbering). Arbitrary.",
        "answers",
    )
    key_sentence_figure_bonus: float = tuned(
        1.5,
        "Added to a sentence's count of question words when the question asks for a figure (an "
        "amount, a delay, an age) and the sentence holds one. Set by hand: one and a half question words.",
        "answers",
    )
    excerpt_overflow: float = tuned(
        1.5, "An excerpt made of one long line is cut at excerpt_chars x this. Arbitrary.", "answers"
    )
    follow_up_max_words: int = tuned(
        10,
        "Without a model, a turn of at most this many words that points back with a pronoun or a "
        "demonstrative ('Is it higher if the offender is a company?') continues the previous question "
        "(assistant/followup.py; a turn opening with 'Et …', 'And …', 'و…' always does, one announcing "
        "a new subject never does). Calibrated on the calibration half of eval/sets/questions.jsonl: "
        "at 10 words all 10 follow-ups merge and none of the 6 topic switches or 130 standalone "
        "questions does (8 words missed one follow-up).",
        "answers",
    )
    history_turns: int = tuned(
        6, "Conversation turns kept for a follow-up. Arbitrary. Override: DALIL_HISTORY_TURNS.", "answers"
    )
    rewrite_turn_chars: int = tuned(
        500,
        "Characters of each earlier turn shown to the model that rewrites a follow-up. Arbitrary.",
        "answers",
    )
    rewrite_max_chars: int = tuned(
        500, "A rewritten follow-up longer than this (or shorter than 6) is ignored. Arbitrary.", "answers"
    )
    stream_piece_chars: int = tuned(
        40,
        "Characters per streamed piece of an extractive answer (it is complete at once). Display.",
        "answers",
    )
    # ---------------------------------------------------------------- grounding
    uncited_sentence_min_words: int = tuned(
        6,
        "A sentence of a model answer with at least this many words needs a citation (shorter ones are "
        "transitions). Arbitrary.",
        "grounding",
    )
    max_uncited_share: float = tuned(
        0.5,
        "A model answer with more than this share of uncited sentences is replaced. Convention: a majority.",
        "grounding",
    )
    quote_min_chars: int = tuned(
        15,
        "Quoted text at least this long must be found verbatim in the cited source. Arbitrary.",
        "grounding",
    )
    # ---------------------------------------------------------------- languages
    arabic_script_share: float = tuned(
        0.5, "Share of Arabic letters above which a text is Arabic. Convention: a majority.", "languages"
    )
    arabizi_min_words: int = tuned(
        2, "Darija words in Latin script needed to call a question Arabizi. Arbitrary.", "languages"
    )
    # ---------------------------------------------------------------- ingestion
    chunk_max_chars: int = tuned(
        1500,
        "Longest chunk; longer articles are split in overlapping parts. Arbitrary, kept inside e5's "
        "512-token window (1,500 characters of French is about 400 tokens). Override: DALIL_CHUNK_MAX_CHARS.",
        "ingestion",
    )
    chunk_overlap_chars: int = tuned(
        200,
        "Overlap between parts of a long article. Arbitrary. Override: DALIL_CHUNK_OVERLAP_CHARS.",
        "ingestion",
    )
    embed_batch: int = tuned(
        64,
        "Passages per embedding call. Arbitrary; the ingest benchmark (benchmarks/run.py) measures the "
        "pipeline at this size against the bare encoder. Override: DALIL_EMBED_BATCH.",
        "ingestion",
    )
    store_batch: int = tuned(256, "Points per upsert request to a Qdrant engine. Arbitrary.", "ingestion")
    min_page_chars: int = tuned(
        25,
        "A PDF page with fewer text-layer characters is OCR'd. Arbitrary (the scanned Constitution has none).",
        "ingestion",
    )
    max_pages: int = tuned(
        2000,
        "Largest PDF accepted, checked before any page is read. Arbitrary: 10x the Code du travail "
        "(~200 pages), the largest text of the corpus. Override: DALIL_MAX_PAGES.",
        "ingestion",
    )
    max_file_bytes: int = tuned(
        50 * 1024 * 1024,
        "Largest file accepted (bytes), checked before it is read. Arbitrary: 25x the corpus' largest "
        "file (the Arabic Code du travail PDF, 2 MB); a 50 MB text file is ~40,000 chunks, not a "
        "regulation. Override: DALIL_MAX_FILE_BYTES.",
        "ingestion",
    )
    max_extracted_chars: int = tuned(
        5_000_000,
        "Most characters of text one document may yield, checked before it is split into lines. "
        "Arbitrary: ~10x the Code du travail (~200 pages of ~3,000 characters). Override: DALIL_MAX_EXTRACTED_CHARS.",
        "ingestion",
    )
    max_chunks: int = tuned(
        5000,
        "Most chunks one document may make, checked before anything is embedded. Arbitrary: ~10x the "
        "Code du travail (~600 articles), and 5M characters cut at chunk_max_chars make ~3,400. "
        "Override: DALIL_MAX_CHUNKS.",
        "ingestion",
    )
    max_unzipped_bytes: int = tuned(
        200 * 1024 * 1024,
        "Most bytes the members of a DOCX (ZIP) file may decompress to, checked on the ZIP directory "
        "before anything is decompressed and again while reading. Arbitrary: 4x the largest file "
        "accepted; a Word law of 500 pages is ~5 MB of XML. Override: DALIL_MAX_UNZIPPED_BYTES.",
        "ingestion",
    )
    max_zip_ratio: float = tuned(
        100.0,
        "Highest decompressed/compressed ratio of a DOCX member larger than zip_ratio_min_bytes. "
        "Word's XML compresses 5-20x; zip bombs 1,000x and more. Arbitrary (a common bomb-detection "
        "bound). Override: DALIL_MAX_ZIP_RATIO.",
        "ingestion",
    )
    zip_ratio_min_bytes: int = tuned(
        1024 * 1024,
        "Members smaller than this (decompressed) are never refused for their ratio: a small XML file "
        "of repeated tags may compress over 100x and cannot exhaust memory. Arbitrary.",
        "ingestion",
    )
    max_ocr_pages: int = tuned(
        200,
        "Most pages OCR'd for one document, checked before OCR starts (OCR is the slowest step, seconds "
        "a page at 300 dpi). Arbitrary: 10% of max_pages, several times the corpus' scanned texts. "
        "Override: DALIL_MAX_OCR_PAGES.",
        "ingestion",
    )
    furniture_page_share: float = tuned(
        0.4,
        "A first or last line repeated on at least this share of pages (and on 3 pages) is a running "
        "header or footer and is removed. Set by hand on the corpus' PDFs.",
        "ingestion",
    )
    ocr_dpi: int = tuned(
        300,
        "Rendering resolution for OCR: Tesseract's documentation asks for at least 300 dpi. Override: DALIL_OCR_DPI.",
        "ingestion",
    )
    # ---------------------------------------------------------------- layout heuristics (parsing, chunking)
    furniture_edge_lines: int = tuned(
        3,
        "Lines at the top and at the bottom of a page where running headers and footers are looked for. Set by hand on the corpus' PDFs.",
        "layout",
    )
    furniture_min_pages: int = tuned(
        3,
        "Fewest pages (and repetitions) for a line to count as a running header or footer. Set by hand.",
        "layout",
    )
    furniture_max_chars: int = tuned(
        120, "A running header or footer is shorter than this. Set by hand on the corpus' PDFs.", "layout"
    )
    bulletin_line_max_chars: int = tuned(
        200,
        "A line naming the Bulletin officiel (الجريدة الرسمية) is furniture or a citation footnote only "
        "when shorter than this (and holding only issue, date and page words). Set by hand on the "
        "corpus' footnotes (the longest is 75 characters).",
        "layout",
    )
    rejoin_min_count: int = tuned(
        2,
        "An Arabic word split by a stray space is joined again only when the joined form occurs at least "
        "this many times in the document; a piece seen fewer times is not a word of its own. Set by hand "
        "on the corpus' PDFs.",
        "layout",
    )
    rejoin_fragment_ratio: int = tuned(
        20,
        "A piece of a split Arabic word (ف of ف ي) that is this many times rarer than the joined form "
        "is a fragment of it, not a word. Set by hand on the corpus' PDFs (ف 16 times, في 1,687).",
        "layout",
    )
    watermark_max_letters: int = tuned(
        8,
        "Diagonal watermarks extract as short capital runs of at most this many letters ('AF AL A'). Set by hand.",
        "layout",
    )
    page_line_chars: int = tuned(
        400,
        "A line at least this long is a whole page extracted as one line (some Arabic texts): it is split "
        "at inline page marks and article headings. Set by hand on the corpus' Arabic texts; "
        "tests/test_chunking.py covers it.",
        "layout",
    )
    midline_split_chars: int = tuned(
        300,
        "Lines at least this long are searched for article headings inside them. Set by hand (see page_line_chars).",
        "layout",
    )
    heading_max_chars: int = tuned(400, "A heading line is shorter than this. Set by hand.", "layout")
    level_heading_max_chars: int = tuned(
        200, "A Livre/Titre/Chapitre heading line is shorter than this. Set by hand.", "layout"
    )
    article_title_max_chars: int = tuned(
        80,
        "The short title French laws put on the line after 'Article N' is shorter than this. Set by hand.",
        "layout",
    )
    section_title_max_chars: int = tuned(
        120, "A non-legal document's section title is shorter than this. Set by hand.", "layout"
    )
    section_min_chars: int = tuned(
        300,
        "A non-legal document's section is closed at the next title only once it holds this much text. Arbitrary.",
        "layout",
    )
    article_number_jump: int = tuned(
        10,
        "An article number more than this above the previous one is a misread (a glued footnote number) and "
        "is repaired. Set by hand on the corpus' Arabic PDFs.",
        "layout",
    )
    glued_number_window: int = tuned(
        6,
        "How far above the previous article a number cut from glued digits may be (midline headings). Set by hand.",
        "layout",
    )
    glued_heading_window: int = tuned(
        3, "The same, stricter, for a heading at the start of a line. Set by hand.", "layout"
    )
    chunk_language_min_chars: int = tuned(
        40,
        "Chunks shorter than this take the document's language instead of a detection. Arbitrary.",
        "layout",
    )
    language_sample_chars: int = tuned(
        20000, "Characters of a document read to guess its language. Arbitrary (a few pages).", "layout"
    )
    cp1256_arabic_share: float = tuned(
        0.3,
        "A text file that is not UTF-8 is read as Windows-1256 when at least this share of its letters "
        "are then Arabic, else as Windows-1252. Arbitrary.",
        "layout",
    )
    utf16_high_byte_share: float = tuned(
        0.9,
        "A text file without byte-order mark is read as UTF-16 when at least this share of the bytes "
        "at even (big-endian) or odd (little-endian) offsets are 0x00 (Latin text) or 0x06 (Arabic "
        "block), and at most half of the other offsets are. Set by hand: French and Arabic UTF-16 "
        "texts score >= 0.99, UTF-8/cp1256/cp1252 texts 0 (tests/test_limits.py).",
        "layout",
    )
    max_control_share: float = tuned(
        0.01,
        "A text file whose decoded text has more than this share of control characters (other than "
        "tab, newlines and form feed) is refused as binary. Arbitrary.",
        "layout",
    )
    ocr_render_timeout_s: int = tuned(
        120, "Seconds allowed to render one page for OCR (pdftoppm). Arbitrary.", "ingestion"
    )
    ocr_page_timeout_s: int = tuned(
        300, "Seconds allowed to OCR one page (Tesseract). Arbitrary.", "ingestion"
    )
    ocr_workers: int = tuned(2, "Pages OCR'd in parallel: the machine's 2 cores.", "ingestion")
    # ---------------------------------------------------------------- privacy
    privacy_min_score: float = tuned(
        0.5,
        "Personal-data finds scoring below this are dropped (assistant/privacy/). With the scores of "
        "privacy_scores it keeps a bare 9-digit number (CNSS) and drops ambiguous formats without a "
        "context word. Set by hand; `dalil privacy eval` measures it on eval/privacy/lines.jsonl.",
        "privacy",
    )
    privacy_scores: dict[str, float] = tuned(
        {"exact": 0.95, "context": 0.85, "known_name": 0.75, "ner": 0.65, "bare": 0.5, "weak": 0.3},
        "Confidence of a personal-data find by what supports it: exact (an e-mail, phone, RIB/IBAN "
        "format), context (an identifier after its cue word, a name after a title or 'je m'appelle', "
        "'ابني'...), known_name (a listed given name with a family name), ner (spaCy's French PER "
        "entity, filtered), bare (9 digits with no cue: CNSS), weak (a CIN-like or passport-like "
        "format with no cue: dropped). Ordinal by construction; set by hand, measured by "
        "`dalil privacy eval`.",
        "privacy",
    )
    privacy_context_chars: int = tuned(
        40,
        "How far before an identifier its cue word is looked for ('CIN', 'passeport', 'CNSS', "
        "'الضمان الاجتماعي'): about six words, enough for 'son n° d'immatriculation CNSS est le'. "
        "Set by hand on the even-numbered lines of eval/privacy/lines.jsonl.",
        "privacy",
    )
    privacy_birth_context_chars: int = tuned(
        40,
        "How far before a date a birth cue ('né le', 'born on', 'المزدادة بتاريخ') makes it a date of "
        "birth. Set by hand on the even-numbered lines of eval/privacy/lines.jsonl.",
        "privacy",
    )
    privacy_name_max_words: int = tuned(
        5,
        "Longest person name, in words, particles included ('mohamed amine el fassi', 'Abdellah "
        "Oulad Ali'). Convention.",
        "privacy",
    )
    privacy_pseudonym_hex: int = tuned(
        6,
        "Hex digits of the keyed HMAC in a pseudonym ([PERSON_1a2b3c]): 24 bits, so two values of "
        "one type in one text collide with probability ~1e-7; a collision is detected and "
        "lengthened. Arbitrary (short enough for a model's context).",
        "privacy",
    )
    # ---------------------------------------------------------------- app
    file_link_ttl_s: int = tuned(
        3600,
        "Seconds a signed link to an original document (ui/files.py, the citation file server) stays "
        "valid. Arbitrary: the chat page signs its links again each time it is drawn, so an hour "
        "covers reading an answer; a link copied out of an agent's session stops working soon after.",
        "app",
    )
    session_ttl_s: int = tuned(
        8 * 3600,
        "Seconds an agent's signed session (assistant/sessions.py, the app's session cookie) stays "
        "valid after sign-in. Set by hand: one working day, so a reload keeps the agent signed in "
        "during the day and a cookie left on a shared computer expires overnight (OWASP Session "
        "Management Cheat Sheet: absolute timeouts of 4 to 8 hours for office applications).",
        "app",
    )
    signin_window_s: int = tuned(
        900,
        "Window, in seconds, over which failed sign-ins are counted (assistant/sessions.py). "
        "Convention: 15 minutes, the window of OWASP's Authentication Cheat Sheet examples.",
        "app",
    )
    signin_max_failures_account: int = tuned(
        5,
        "Failed sign-ins for one account within signin_window_s after which that account is locked "
        "for signin_lockout_s, whatever the address. Convention: OWASP's example threshold; NIST SP "
        "800-63B 5.2.2 allows up to 100, fewer is stricter.",
        "app",
    )
    signin_max_failures_address: int = tuned(
        20,
        "Failed sign-ins from one address (any account) within signin_window_s after which that "
        "address is locked for signin_lockout_s: one address guessing across accounts. Set by hand: "
        "four accounts' worth of mistakes from one office's shared address.",
        "app",
    )
    signin_lockout_s: int = tuned(
        900,
        "Seconds an account or address stays locked after too many failed sign-ins. Convention: "
        "15 minutes (OWASP Authentication Cheat Sheet).",
        "app",
    )
    # ---------------------------------------------------------------- service
    api_rate_per_s: float = tuned(
        5.0,
        "Requests per second one API key may sustain (token bucket, server/limits.py); beyond it the "
        "service answers 429 with Retry-After. Set by hand: an agent asks a question every few seconds "
        "at most; a portal serving many citizens gets its own key and, if needed, a higher rate. "
        "Override: DALIL_API_RATE_PER_S.",
        "service",
    )
    api_rate_burst: int = tuned(
        20,
        "Requests one API key may send at once before the rate applies (the bucket's size). Set by "
        "hand: a page that opens with a search, an answer and a few file links. Override: "
        "DALIL_API_RATE_BURST.",
        "service",
    )
    api_max_body_bytes: int = tuned(
        1_000_000,
        "Largest request body of the JSON endpoints (413 beyond). Arbitrary: a question is limited to "
        "max_query_chars and a conversation to history_turns; 1 MB leaves room for a long history of "
        "Arabic text (2 bytes a letter) and refuses anything meant to exhaust memory. Uploads are "
        "limited by max_file_bytes instead. Override: DALIL_API_MAX_BODY_BYTES.",
        "service",
    )
    # ---------------------------------------------------------------- evaluation
    eval_k: int = tuned(
        5, "Cut-off of the headline retrieval metrics (recall@5, hit@5). Convention.", "evaluation"
    )
    fuzzy_min_chars: int = tuned(
        25,
        "Reference excerpts at least this long may match a chunk fuzzily (Arabic PDFs gain and lose "
        "spaces). Arbitrary.",
        "evaluation",
    )
    fuzzy_threshold: float = tuned(
        90.0, "rapidfuzz partial-ratio needed for a fuzzy excerpt match. Arbitrary.", "evaluation"
    )
    gate_tolerance: float = tuned(
        0.02,
        "Drop of a headline metric the regression gate accepts against its baseline. Arbitrary.",
        "evaluation",
    )

    def min_similarity_for(self, encoder: str) -> float:
        """The refusal threshold for a dense encoder ("*": an operator's override for any encoder)."""
        return self.min_similarity.get(encoder, self.min_similarity.get("*", 0.0))

    def replace(self, **changes: Any) -> Tuning:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


TUNING = Tuning()


def entries() -> list[tuple[str, str, Any, str]]:
    """(group, name, value, origin) of every tuning field, in declaration order."""
    return [
        (f.metadata["group"], f.name, getattr(TUNING, f.name), f.metadata["origin"])
        for f in dataclasses.fields(Tuning)
    ]


def markdown(render: Callable[[Any], str] = repr) -> str:
    """docs/tuning.md."""
    lines = [
        "# Tuning: every calibrated or arbitrary number, with its origin",
        "",
        "Rendered from `assistant/tuning.py` by `python -m assistant.tuning > docs/tuning.md`; "
        "a test keeps this page identical to the code.",
        "",
    ]
    group = None
    for g, name, value, origin in entries():
        if g != group:
            lines += ["", f"## {g}", "", "| name | value | origin |", "|---|---|---|"]
            group = g
        lines.append(f"| `{name}` | `{render(value)}` | {origin} |")
    return "\n".join(lines).strip() + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
