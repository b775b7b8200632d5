"""Evaluation datasets (JSONL), validated on load with errors naming the line and field."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import DatasetError
from assistant.language import LANGUAGES
from assistant.linefile import has_surrogate, read_lines

KINDS = {
    "factual",
    "procedural",
    "multi-hop",
    "unanswerable",
    "cross-lingual",
    "temporal",  # about a date or period ("as_of" says which)
    "follow-up",  # a turn that needs the conversation ("history")
    "topic-switch",  # a turn with a history on another subject, to be searched on its own
}
SPLITS = {"calibration", "test"}


@dataclass
class Sample:
    id: str
    question: str
    language: str
    reference_answer: str = ""
    reference_contexts: list[str] = field(default_factory=list)
    source_file: str | None = None
    source_files: list[str] = field(default_factory=list)
    context_files: list[str] = field(default_factory=list)
    article: str | None = None
    kind: str = "factual"
    history: list[dict[str, str]] = field(default_factory=list)  # earlier turns, role/content
    as_of: str | None = None  # the date a temporal question is about (never given to the assistant)
    direction: str | None = None  # cross-lingual: "fr->ar" = French question, Arabic source
    split: str | None = None  # calibration | test (sets of our own); None for dev.jsonl
    dialect: str | None = None

    @property
    def answerable(self) -> bool:
        return self.kind != "unanswerable"


def _require(
    obj: dict[str, Any], key: str, typ: type | tuple[type, ...], line: int, optional: bool = False
) -> Any:
    if key not in obj or obj[key] is None:
        if optional:
            return None
        raise DatasetError(f"line {line}: missing field {key!r}")
    value = obj[key]
    if not isinstance(value, typ):
        raise DatasetError(f"line {line}: field {key!r} must be {typ}, got {type(value).__name__}")
    return value


def load_dataset(path: Path) -> list[Sample]:
    """The samples of a JSONL dataset. A missing, unreadable or binary file, and any malformed line
    (the error names it), refuse the whole dataset: scores over part of a set would mislead."""
    samples: list[Sample] = []
    ids: set[str] = set()
    for n, raw in read_lines(path, "dataset", DatasetError):
        if raw is None:
            raise DatasetError(f"line {n}: not valid UTF-8 text; save the dataset as UTF-8")
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"line {n}: invalid JSON ({exc.msg} at column {exc.colno})") from exc
        if not isinstance(obj, dict):
            raise DatasetError(f"line {n}: expected a JSON object")
        sid = str(_require(obj, "id", (str, int), n))
        if sid in ids:
            raise DatasetError(f"line {n}: duplicate id {sid!r}")
        ids.add(sid)
        question = _require(obj, "question", str, n)
        if has_surrogate(json.dumps(obj, ensure_ascii=False)):
            raise DatasetError(
                f"line {n}: holds a lone surrogate (a \\ud800-style escape), which is not text"
            )
        if not question.strip():
            raise DatasetError(f"line {n}: field 'question' is empty")
        language = obj.get("language") or "fr"
        if language not in LANGUAGES:
            raise DatasetError(
                f"line {n}: field 'language' must be one of {sorted(LANGUAGES)}, got {language!r}"
            )
        kind = obj.get("kind") or "factual"
        if kind not in KINDS:
            raise DatasetError(f"line {n}: field 'kind' must be one of {sorted(KINDS)}, got {kind!r}")
        contexts = _require(obj, "reference_contexts", list, n, optional=True) or []
        if not all(isinstance(c, str) for c in contexts):
            raise DatasetError(f"line {n}: field 'reference_contexts' must be a list of strings")
        history = _require(obj, "history", list, n, optional=True) or []
        if not all(
            isinstance(h, dict)
            and h.get("role") in ("user", "assistant")
            and isinstance(h.get("content"), str)
            for h in history
        ):
            raise DatasetError(
                f"line {n}: field 'history' must be a list of {{role: user|assistant, content}}"
            )
        split = obj.get("split")
        if split is not None and split not in SPLITS:
            raise DatasetError(f"line {n}: field 'split' must be one of {sorted(SPLITS)}, got {split!r}")
        source_files = _require(obj, "source_files", list, n, optional=True) or []
        source_file = obj.get("source_file")
        if source_file and source_file not in source_files:
            source_files = [source_file, *source_files]
        samples.append(
            Sample(
                id=sid,
                question=question,
                language=language,
                reference_answer=obj.get("reference_answer") or "",
                reference_contexts=contexts,
                source_file=source_file,
                source_files=source_files,
                context_files=obj.get("context_files") or [],
                article=obj.get("article"),
                kind=kind,
                history=[{"role": h["role"], "content": h["content"]} for h in history],
                as_of=obj.get("as_of"),
                direction=obj.get("direction"),
                split=split,
                dialect=obj.get("dialect"),
            )
        )
    if not samples:
        raise DatasetError(f"dataset {path} has no questions")
    return samples


def dataset_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
