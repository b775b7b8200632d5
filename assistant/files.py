"""The originals of indexed documents: which file a document of the registry is, who may see it,
and signed expiring links to it. Used by the HTTP service (`GET /v1/documents/{id}/file`) and by the
app's citation file server (ui/files.py).

- a document is named by its registry id, never by a path; only documents indexed now are served,
  from the file the registry recorded, which must lie in the corpus or uploads folder and be reached
  through no symlink (`file_of`);
- its collection's audience (`audience_of`) decides who may see it: a public collection anyone
  allowed to call, an agents-only collection agents only;
- a link signed with the deployment's key (`derive(secret_key, "file-links")`) for an audience
  (`link`, checked by `token_audience`) opens it without credentials (a browser following a
  citation) until it expires (`Tuning.file_link_ttl_s`).
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, quote, urlencode

from assistant.corpus import load_collections
from assistant.keys import derive, mac, secret_key
from assistant.modes import Audience
from assistant.registry import DocumentRecord, DocumentStatus, Registry
from assistant.settings import Settings

PURPOSE = "file-links"


@dataclass(frozen=True)
class FileAccess:
    """What the server needs to decide: where the registry and the folders are, and the link key."""

    registry_path: Path
    definitions_dir: Path
    roots: tuple[Path, ...]  # the corpus and uploads folders
    key: bytes
    ttl_s: int

    @classmethod
    def from_settings(cls, settings: Settings) -> FileAccess:
        return cls(
            registry_path=settings.registry_path,
            definitions_dir=settings.definitions_dir,
            roots=(settings.corpus_dir, settings.uploads_dir),
            key=derive(secret_key(settings), PURPOSE),
            ttl_s=settings.tuning.file_link_ttl_s,
        )

    # -- links -------------------------------------------------------------
    def _mac(self, doc_id: str, audience: str, expiry: int) -> str:
        return mac(self.key, f"{doc_id}\n{audience}\n{expiry}")

    def link(self, doc_id: str, audience: Audience | str, now: float | None = None) -> str:
        """The path and query of a signed link to a document for this audience (no host)."""
        aud = Audience(audience).value
        expiry = int(now if now is not None else time.time()) + self.ttl_s
        query = urlencode({"a": aud, "e": expiry, "t": self._mac(doc_id, aud, expiry)})
        return f"/{quote(doc_id, safe='')}?{query}"

    def token_audience(self, doc_id: str, query: str, now: float) -> str | None:
        """The audience a link's token was signed for, or None (missing, tampered or expired)."""
        params = parse_qs(query, keep_blank_values=True)
        try:
            aud, expiry_s, token = params["a"][0], params["e"][0], params["t"][0]
            expiry = int(expiry_s)
        except (KeyError, IndexError, ValueError):
            return None
        if not hmac.compare_digest(token.encode(), self._mac(doc_id, aud, expiry).encode()):
            return None
        return aud if expiry > now else None

    # -- documents ---------------------------------------------------------
    def record(self, doc_id: str) -> DocumentRecord | None:
        if not self.registry_path.exists():
            return None
        registry = Registry(self.registry_path)
        try:
            rec = registry.get(doc_id)
        finally:
            registry.close()
        return rec if rec is not None and rec.status == DocumentStatus.INDEXED else None

    def audience_of(self, rec: DocumentRecord) -> Audience:
        collection = load_collections(self.definitions_dir).get(rec.collection)
        return collection.audience if collection is not None else Audience.PUBLIC

    def file_of(self, rec: DocumentRecord) -> Path | None:
        """The registered file, when it lies under the corpus or uploads folder (the folder itself
        may be a link), its source path names it there, and no part of that path is a symlink."""
        rel = PurePosixPath(rec.source)
        if (
            not rec.source
            or rel.is_absolute()
            or not rel.parts
            or any(p in ("", ".", "..") for p in rel.parts)
        ):
            return None
        recorded = Path(rec.path)
        corpus, uploads = self.roots
        # an upload's source is "uploads/<collection>/<file>", under the uploads folder
        where = [(uploads, rel.parts[1:])] if rel.parts[0] == "uploads" and len(rel.parts) > 2 else []
        for root, parts in [*where, (corpus, rel.parts), (uploads, rel.parts)]:
            base = root.resolve()
            current = base
            for part in parts:
                current = current / part
                if current.is_symlink():
                    return None
            if current.is_file() and (recorded == current or recorded.resolve() == current):
                return current
        return None


def signed_query(link: str) -> str:
    """The query string of a link made by `FileAccess.link` (a=audience, e=expiry, t=token)."""
    return link.partition("?")[2]
