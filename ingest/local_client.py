"""`DalilClient` in this process, for a single user: search and answers through
`assistant.service.Dalil`, ingestion and withdrawal through `ingest.sync.Syncer`, exactly as the
`dalil` commands do without DALIL_API_URL (same JSON, same audit entries)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assistant.api_shapes import answer_shape, search_shape
from assistant.client import IngestProgress
from assistant.corpus import DocumentMeta, load_collections, save_metadata_edit
from assistant.errors import InputError
from assistant.http_client import merge_reports
from assistant.index import Index
from assistant.messages import AnswerEvent, FinalEvent
from assistant.modes import AnswerMode, Audience
from assistant.registry import DocumentRecord, Registry
from assistant.service import Dalil
from assistant.settings import Settings
from ingest.sync import Syncer


class LocalClient:
    """Opens the index (or uses `index`, e.g. the process's shared one) on first use; or works
    with an open `dalil` (the app's, with its model client), which `close` leaves open."""

    def __init__(self, settings: Settings, index: Index | None = None, dalil: Dalil | None = None) -> None:
        self.settings = settings
        self._index = index
        self._dalil: Dalil | None = dalil
        self._owns_dalil = dalil is None

    @property
    def dalil(self) -> Dalil:
        if self._dalil is None:
            self._dalil = Dalil.open(self.settings, index=self._index)
        return self._dalil

    def search(
        self,
        query: str,
        *,
        k: int = 8,
        date: str | None = None,
        collections: list[str] | None = None,
        languages: list[str] | None = None,
        audience: Audience = Audience.AGENTS,
        exclude_superseded: bool = False,
        id: str | None = None,  # noqa: A002
    ) -> dict[str, Any]:
        resp = self.dalil.retriever.search(
            query,
            k=k,
            date=date,
            collections=collections,
            languages=languages,
            audience=audience,
            exclude_superseded=exclude_superseded,
        )
        return search_shape(resp, query, id)

    def ask(
        self,
        question: str,
        *,
        mode: AnswerMode | None = None,
        date: str | None = None,
        collections: list[str] | None = None,
        audience: Audience = Audience.AGENTS,
        history: list[dict[str, str]] | None = None,
        id: str | None = None,  # noqa: A002
    ) -> dict[str, Any]:
        ans = self.dalil.assistant.ask(
            question,
            mode=mode,
            date=date,
            collections=collections,
            audience=audience,
            history=history or None,  # type: ignore[arg-type]
        )
        ans.id = id
        self.dalil.log(ans, audience=audience)
        return answer_shape(ans)

    def ask_stream(
        self,
        question: str,
        *,
        mode: AnswerMode | None = None,
        date: str | None = None,
        collections: list[str] | None = None,
        audience: Audience = Audience.AGENTS,
        history: list[dict[str, str]] | None = None,
        id: str | None = None,  # noqa: A002
        user: str | None = None,
    ) -> Iterator[AnswerEvent]:
        for event in self.dalil.assistant.ask_stream(
            question,
            mode=mode,
            date=date,
            collections=collections,
            audience=audience,
            history=history or None,  # type: ignore[arg-type]
        ):
            if isinstance(event, FinalEvent):  # recorded as `dalil ask` records it, then given
                event.answer.id = id
                entry = self.dalil.log(event.answer, user=user, audience=audience)
                event = FinalEvent(event.answer, audit_id=entry, index_version=self.dalil.index_version())
            yield event

    def status(self, *, audience: Audience = Audience.AGENTS) -> dict[str, Any]:
        dalil = self.dalil
        defined = load_collections(self.settings.definitions_dir)
        known = sorted(
            c
            for c in dalil.retriever.known_collections()
            if c not in defined or audience == Audience.AGENTS or defined[c].audience == Audience.PUBLIC
        )
        chat = dalil.assistant.chat
        chunks = dalil.index.store.count()
        return {"model": chat.name if chat else None, "collections": known, "chunks": chunks}

    def feedback(
        self, audit_id: int, rating: int, *, reason: str | None = None, comment: str | None = None
    ) -> None:
        self.dalil.audit.feedback(audit_id, rating, reason, comment, {}, self.dalil.index_version())

    def documents(self) -> list[dict[str, Any]]:
        with Registry(self.settings.registry_path) as registry:
            return [r.as_dict() for r in registry.all()]

    def ingest(
        self,
        paths: list[Path] | None = None,
        *,
        collection: str | None = None,
        prune: bool = False,
        progress: IngestProgress | None = None,
    ) -> dict[str, Any]:
        with Syncer(self.settings, self.dalil.index, progress=progress) as syncer:
            return syncer.run(paths, collection=collection, prune=prune).as_dict()

    def withdraw(self, doc_id: str, *, by: str | None = None) -> None:
        with Syncer(self.settings, self.dalil.index) as syncer:
            if not syncer.withdraw(doc_id, by=by or "unknown"):
                raise InputError(f"no document {doc_id!r} in the registry: see `dalil sources`")

    def restore(self, doc_id: str, *, progress: IngestProgress | None = None) -> dict[str, Any]:
        with self.dalil.index.lock, Syncer(self.settings, self.dalil.index, progress=progress) as syncer:
            report = syncer.restore(doc_id)
        if report is None:
            raise InputError(f"{doc_id!r} is not a withdrawn document: see `dalil sources`")
        return report.as_dict()

    def reindex(self, doc_id: str | None = None, *, progress: IngestProgress | None = None) -> dict[str, Any]:
        if doc_id is None:  # the corpus, then the uploaded files: what changed
            reports = [self.ingest(progress=progress)]
            if self.settings.uploads_dir.exists():
                reports.append(self.ingest([self.settings.uploads_dir], progress=progress))
            return merge_reports(reports)
        rec = self._record(doc_id)
        with Syncer(self.settings, self.dalil.index, progress=progress) as syncer:
            return syncer.run([Path(rec.path)], collection=rec.collection, force=True).as_dict()

    def edit(
        self, doc_id: str, meta: DocumentMeta, *, progress: IngestProgress | None = None
    ) -> dict[str, Any]:
        self._record(doc_id)
        save_metadata_edit(self.settings.metadata_path, doc_id, meta)
        return self.reindex(doc_id, progress=progress)

    def jobs(self, limit: int = 20) -> list[dict[str, Any]]:
        return []

    def _record(self, doc_id: str) -> DocumentRecord:
        with Registry(self.settings.registry_path) as registry:
            rec = registry.get(doc_id)
        if rec is None:
            raise InputError(f"no document {doc_id!r} in the registry: see `dalil sources`")
        return rec

    def job(self, job_id: str) -> dict[str, Any]:
        raise InputError(
            "there are no jobs in this process: ingestion ran to its end when it was asked; "
            "jobs exist in a running service (set DALIL_API_URL)"
        )

    def audit(self, limit: int = 20) -> list[dict[str, Any]]:
        return self.dalil.audit.answers(limit)

    def close(self) -> None:
        if self._dalil is not None and self._owns_dalil:
            self._dalil.close()
        self._dalil = None
