"""Collection definitions (corpora/*.yaml) and per-document metadata."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from assistant.errors import ConfigError
from assistant.legal import normalise_law_number
from assistant.modes import Audience


@dataclass
class DocumentMeta:
    title: str | None = None
    reference: str | None = None
    law_numbers: list[str] = field(default_factory=list)
    in_force_from: dt.date | None = None
    in_force_until: dt.date | None = None
    supersedes: list[str] = field(default_factory=list)
    superseded_by: str | None = None
    parallel: str | None = None
    source_url: str | None = None
    language: str | None = None
    # where `dalil corpus fetch` downloads the file, and the SHA-256 it must have (ingest/fetch.py)
    url: str | None = None
    sha256: str | None = None
    # what people call the text, per language ({"fr": ["Code du travail"], "en": ["Labour Code"]}): a
    # question naming it so is searched in it as if it gave its number (assistant/references.py)
    names: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Collection:
    name: str
    audience: Audience = Audience.PUBLIC
    language: str = "fr"
    folder: str | None = None
    description: str = ""
    documents: dict[str, DocumentMeta] = field(default_factory=dict)
    definition_path: Path | None = None
    # texts of this collection may address a model (e.g. a collection about prompts themselves):
    # its chunks flagged by assistant/injection.py are still shown to the model
    allow_instructions: bool = False


# A collection name becomes a folder name (DATA_DIR/uploads/<name>/) and a document id prefix: a
# short lowercase name, no separator, no `..`, nothing that could leave the uploads folder.
COLLECTION_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
# Sources of uploaded files start with `uploads/` (ingest.sync): no collection or corpus folder may
# take that name, or an upload and a corpus text could share a source, and so an id.
RESERVED_NAMES = frozenset({"uploads"})


def check_collection_name(name: str, where: str = "collection name") -> str:
    """`name` when it is a safe collection name, else a ConfigError saying what is allowed."""
    if not isinstance(name, str) or not COLLECTION_NAME.fullmatch(name):
        raise ConfigError(
            f"{where} {name!r} is not allowed: use 1 to 40 lowercase letters a-z, digits, '_' or '-', "
            "starting with a letter or digit (no '/', '\\', '..' or spaces)"
        )
    if name in RESERVED_NAMES:
        raise ConfigError(f"{where} {name!r} is reserved (uploaded files are named under it): choose another")
    return name


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _doc_meta(raw: dict[str, Any]) -> DocumentMeta:
    supersedes = raw.get("supersedes") or []
    return DocumentMeta(
        title=raw.get("title"),
        reference=raw.get("reference"),
        law_numbers=[normalise_law_number(n) for n in raw.get("law_numbers") or []],
        in_force_from=_date(raw.get("in_force_from")),
        in_force_until=_date(raw.get("in_force_until")),
        supersedes=[supersedes] if isinstance(supersedes, str) else list(supersedes),
        superseded_by=raw.get("superseded_by"),
        parallel=raw.get("parallel"),
        source_url=raw.get("source_url"),
        language=raw.get("language"),
        url=raw.get("url"),
        sha256=(str(raw["sha256"]).lower() if raw.get("sha256") else None),
        names=_names(raw.get("names")),
    )


def _names(raw: Any) -> dict[str, list[str]]:
    if raw in (None, ""):
        return {}
    if not isinstance(raw, dict) or not all(
        isinstance(v, list) and all(isinstance(n, str) for n in v) for v in raw.values()
    ):
        raise ConfigError(
            f"names must map a language to a list of names (names: {{fr: [Code du travail], en: [Labour Code]}}), "
            f"got {raw!r}"
        )
    return {str(lang): [n.strip() for n in v if n.strip()] for lang, v in raw.items()}


def load_collections(definitions_dir: Path) -> dict[str, Collection]:
    out: dict[str, Collection] = {}
    for path in sorted(definitions_dir.glob("*.yaml")):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: invalid YAML ({exc}). Fix the collection definition.") from exc
        name = raw.get("name") or path.stem
        check_collection_name(name, where=f"{path}: name")
        try:
            audience = Audience(raw.get("audience", Audience.PUBLIC))
        except ValueError:
            raise ConfigError(
                f"{path}: audience must be one of {[a.value for a in Audience]}, got {raw.get('audience')!r}."
            ) from None
        allow_instructions = raw.get("allow_instructions", False)
        if not isinstance(allow_instructions, bool):
            raise ConfigError(
                f"{path}: allow_instructions must be true or false, got {allow_instructions!r}."
            )
        docs = {fname: _doc_meta(meta or {}) for fname, meta in (raw.get("documents") or {}).items()}
        out[name] = Collection(
            name=name,
            audience=audience,
            language=raw.get("language", "fr"),
            folder=raw.get("folder", name),
            description=raw.get("description", ""),
            documents=docs,
            definition_path=path,
            allow_instructions=allow_instructions,
        )
    return out


def save_document_meta(collection: Collection, filename: str, meta: DocumentMeta) -> None:
    """Write one document's metadata back into its collection's YAML (admin edits)."""
    if collection.definition_path is None:
        raise ConfigError(f"Collection {collection.name} has no definition file to update.")
    raw = yaml.safe_load(collection.definition_path.read_text(encoding="utf-8")) or {}
    docs = raw.setdefault("documents", {}) or {}
    docs[filename] = meta_entry(meta)
    raw["documents"] = docs
    collection.definition_path.write_text(
        yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    collection.documents[filename] = meta


def meta_entry(meta: DocumentMeta) -> dict[str, Any]:
    """One document's metadata as written in YAML: the fields that are set, dates in ISO form."""
    return {
        k: (v.isoformat() if isinstance(v, dt.date) else v)
        for k, v in meta.__dict__.items()
        if v not in (None, [], "", {})
    }


def load_metadata_edits(path: Path) -> dict[str, DocumentMeta]:
    """Content owners' metadata edits kept in the data directory (`Settings.metadata_path`), by
    document id. They take precedence over the collection definitions, which belong to the
    deployment's repository and are never written by the service."""
    if not path.exists():
        return {}
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"{path}: invalid YAML ({exc}). Fix or delete the file (the metadata edits it holds "
            "are then lost; the collection definitions apply again)."
        ) from exc
    return {str(doc_id): _doc_meta(entry or {}) for doc_id, entry in raw.items()}


def save_metadata_edit(path: Path, doc_id: str, meta: DocumentMeta) -> None:
    """Record one document's edited metadata in the data directory (the file replaced atomically)."""
    raw: dict[str, Any] = {}
    if path.exists():
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    raw[doc_id] = meta_entry(meta)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=True), encoding="utf-8")
    tmp.replace(path)


def title_from_filename(path: Path) -> str:
    stem = re.sub(r"[_]+", " ", path.stem)
    return re.sub(r"\s+", " ", stem).strip()


def collection_for(path: Path, corpus_dir: Path, collections: dict[str, Collection]) -> Collection:
    """The collection a file belongs to: by its folder under the corpus directory."""
    try:
        rel = path.resolve().relative_to(corpus_dir.resolve())
        folder = rel.parts[0] if len(rel.parts) > 1 else None
    except ValueError:
        folder = path.parent.name
    for coll in collections.values():
        if folder and coll.folder == folder:
            return coll
    name = folder or "default"
    return collections.setdefault(name, Collection(name=name, folder=name))
