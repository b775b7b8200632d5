"""`DalilClient` over HTTP: a running `dalil serve` at DALIL_API_URL, with the key DALIL_API_KEY.

The service's JSON has the shapes the command line prints (assistant/api_shapes.py), so this
client returns the service's responses as they come. Ingestion is a job of the service: the client
submits it, follows its progress (`GET /v1/jobs/{id}`) and returns the job's result once it has
finished. Errors come back as `{"error": {"message", "type", "code"}}` and are raised as the
`DalilError` the in-process client would raise, with the service's message.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from assistant.client import USER_HEADER, IngestProgress
from assistant.corpus import DocumentMeta, meta_entry
from assistant.egress import check_url
from assistant.errors import ConfigError, DalilError, InputError, QueryError
from assistant.modes import AnswerMode, Audience
from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.messages import AnswerEvent

# the metadata an owner edits (PATCH /v1/documents/{id}); where to download a file is the deployment's
EDITABLE = (
    "title",
    "reference",
    "law_numbers",
    "in_force_from",
    "in_force_until",
    "supersedes",
    "superseded_by",
    "parallel",
    "source_url",
    "language",
)
# a front end (the app) serves many people with one key: over the key's rate it waits and retries
RATE_RETRIES = 3
RATE_WAIT_MAX_S = 5.0
JOB_POLL_S = 0.5  # how often a waiting client asks for its job's progress
FINISHED = ("done", "failed", "interrupted")


class HttpClient:
    """The service at `settings.api_url` (checked against the egress allow-list), with
    `settings.api_key`."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        if not settings.api_url:
            raise ConfigError("DALIL_API_URL is not set: give the address of the running `dalil serve`")
        if settings.api_key is None:
            raise ConfigError(
                "DALIL_API_KEY is not set: ask the operator for a key (`dalil keys add NAME --role ...`) "
                "and put it in the environment or the secrets folder"
            )
        url = check_url(settings.api_url, "DALIL_API_URL", settings.allowed_hosts)
        self.settings = settings
        self.user: str | None = None  # the person the calls are made for (`acting_for`)
        self.http = httpx.Client(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {settings.api_key.get_secret_value()}"},
            timeout=httpx.Timeout(settings.llm_timeout_s + 60.0, connect=10.0),
            transport=transport,
        )

    def acting_for(self, user: str | None) -> HttpClient:
        """This client (same connection pool), its calls made for `user`, a person signed in to the
        application that holds the key: the service records them as "USER via KEY" (audit trail,
        withdrawals, jobs) instead of the key's name alone. None: the key's name alone."""
        view = copy.copy(self)
        view.user = user
        return view

    def _headers(self) -> dict[str, str]:
        return {USER_HEADER: quote(self.user, safe="")} if self.user else {}

    # ------------------------------------------------------------------ plumbing
    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        for attempt in range(RATE_RETRIES + 1):
            try:
                response = self.http.request(method, path, headers=self._headers(), **kwargs)
            except httpx.HTTPError as exc:
                raise self._unreachable(exc) from exc
            if response.is_success:
                return response.json()
            if not _wait_for_rate(response, attempt):
                break
        raise _error(response)

    def _unreachable(self, exc: httpx.HTTPError) -> DalilError:
        return DalilError(
            f"cannot reach the Dalil service at {self.settings.api_url} ({type(exc).__name__}: {exc}): "
            "check that `dalil serve` runs there, or unset DALIL_API_URL to work in this process"
        )

    def _wait(self, job: dict[str, Any], progress: IngestProgress | None) -> dict[str, Any]:
        while True:
            p = job["progress"]
            if progress is not None:
                progress(p["done"], p["total"], p["current"] or job["state"])
            if job["state"] in FINISHED:
                break
            time.sleep(JOB_POLL_S)
            job = self._call("GET", f"/v1/jobs/{job['id']}")
        if job["state"] != "done":
            raise DalilError(f"job {job['id']} ({job['kind']}) {job['state']}: {job['error']}")
        return job

    # ------------------------------------------------------------------ DalilClient
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
        body = {
            "query": query,
            "k": k,
            "date": date,
            "collections": collections,
            "languages": languages,
            "audience": Audience(audience).value,
            "exclude_superseded": exclude_superseded,
            "id": id,
        }
        result: dict[str, Any] = self._call("POST", "/v1/search", json=body)
        return result

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
        body = _answer_body(question, mode, date, collections, audience, history, id)
        result: dict[str, Any] = self._call("POST", "/v1/answers", json=body)
        return result

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
        user: str | None = None,  # recorded by the service as "USER via KEY"
    ) -> Iterator[AnswerEvent]:
        from assistant.events_json import event_from_json

        headers = (self.acting_for(user) if user and not self.user else self)._headers()
        body = _answer_body(question, mode, date, collections, audience, history, id)
        try:
            for attempt in range(RATE_RETRIES + 1):
                with self.http.stream("POST", "/v1/answers/stream", json=body, headers=headers) as response:
                    if not response.is_success:
                        response.read()
                        if _wait_for_rate(response, attempt):
                            continue
                        raise _error(response)
                    for data in server_sent_data(response.iter_lines()):
                        yield event_from_json(json.loads(data))
                    return
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc

    def status(self, *, audience: Audience = Audience.AGENTS) -> dict[str, Any]:
        params = {"audience": Audience(audience).value}
        result: dict[str, Any] = self._call("GET", "/v1/status", params=params)
        return result

    def feedback(
        self, audit_id: int, rating: int, *, reason: str | None = None, comment: str | None = None
    ) -> None:
        body = {"audit_id": audit_id, "rating": rating, "reason": reason, "comment": comment}
        self._call("POST", "/v1/feedback", json=body)

    def documents(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/v1/documents")
        return result

    def ingest(
        self,
        paths: list[Path] | None = None,
        *,
        collection: str | None = None,
        prune: bool = False,
        progress: IngestProgress | None = None,
    ) -> dict[str, Any]:
        if not paths:
            body = {"collection": collection, "prune": prune, "uploads": False}
            return self._wait(self._call("POST", "/v1/reindex", json=body), progress)["result"] or {}
        results = []
        for name, batch in _batches(paths, collection, self.settings.max_file_bytes):
            files = [("files", (p.name, p.read_bytes())) for p in batch]
            job = self._call("POST", "/v1/documents", data={"collection": name}, files=files)
            results.append(self._wait(job, progress)["result"] or {})
        return merge_reports(results)

    def withdraw(self, doc_id: str, *, by: str | None = None) -> None:
        # the service records who withdrew it: the key's name, with the person it acts for
        client = self.acting_for(by) if by and not self.user else self
        client._wait(client._call("POST", f"/v1/documents/{_quoted(doc_id)}/withdraw"), None)

    def restore(self, doc_id: str, *, progress: IngestProgress | None = None) -> dict[str, Any]:
        job = self._call("POST", f"/v1/documents/{_quoted(doc_id)}/restore")
        return self._wait(job, progress)["result"] or {}

    def reindex(self, doc_id: str | None = None, *, progress: IngestProgress | None = None) -> dict[str, Any]:
        if doc_id is None:
            job = self._call("POST", "/v1/reindex", json={})
        else:
            job = self._call("POST", f"/v1/documents/{_quoted(doc_id)}/reindex")
        return self._wait(job, progress)["result"] or {}

    def edit(
        self, doc_id: str, meta: DocumentMeta, *, progress: IngestProgress | None = None
    ) -> dict[str, Any]:
        body = {k: v for k, v in meta_entry(meta).items() if k in EDITABLE}
        body |= {k: None for k in EDITABLE if k not in body}  # a field left empty is cleared
        job = self._call("PATCH", f"/v1/documents/{_quoted(doc_id)}", json=body)
        return self._wait(job, progress)["result"] or {}

    def jobs(self, limit: int = 20) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/v1/jobs", params={"limit": limit})
        return result

    def job(self, job_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/v1/jobs/{job_id}")
        return result

    def audit(self, limit: int = 20) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/v1/audit", params={"limit": limit})
        return result

    def close(self) -> None:
        self.http.close()


def _wait_for_rate(response: httpx.Response, attempt: int) -> bool:
    """After a 429 (the key's rate exceeded), wait what the service asks (Retry-After, at most
    RATE_WAIT_MAX_S) and say to try again, `RATE_RETRIES` times; False for any other answer."""
    if response.status_code != 429 or attempt >= RATE_RETRIES:
        return False
    try:
        wait = float(response.headers.get("retry-after", "1"))
    except ValueError:
        wait = 1.0
    time.sleep(min(max(wait, 0.1), RATE_WAIT_MAX_S))
    return True


def _quoted(doc_id: str) -> str:
    return quote(doc_id, safe=":")


def server_sent_data(lines: Iterable[str]) -> Iterator[str]:
    """The data of each server-sent event in `lines` (the `data:` lines of an event joined by
    newlines; comments such as keep-alive pings, and event names, skipped)."""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
            data = []
        elif line.startswith("data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)


def _error(response: httpx.Response) -> DalilError:
    try:
        message = str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        message = response.text[:500] or response.reason_phrase
    status = response.status_code
    if status == 401:
        return ConfigError(f"the service refused the key (401): {message}; check DALIL_API_KEY")
    if status == 403:
        return ConfigError(f"not allowed (403): {message}")
    if status == 404:
        return InputError(message)
    if status == 429:
        wait = response.headers.get("retry-after", "a few")
        return DalilError(f"too many requests (429): {message}; retry in {wait} s")
    if status in (400, 422):
        return QueryError(message)
    if status < 500:
        return InputError(message)
    return DalilError(f"the service failed ({status}): {message}")


def _files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for root in paths:
        if root.is_dir():
            out.extend(
                p
                for p in sorted(root.rglob("*"))
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
            )
        else:
            out.append(root)
    return out


def _batches(paths: list[Path], collection: str | None, budget: int) -> list[tuple[str, list[Path]]]:
    """Files grouped by the collection they go to (`collection`, else their folder's name), in
    uploads of at most `budget` bytes (one file larger than that goes alone and is refused by the
    service with the limit's message)."""
    out: list[tuple[str, list[Path]]] = []
    groups: dict[str, list[Path]] = {}
    for path in _files(paths):
        if not path.is_file():
            raise InputError(f"{path}: no such file")
        groups.setdefault(collection or path.resolve().parent.name, []).append(path)
    for name, files in groups.items():
        batch: list[Path] = []
        size = 0
        for path in files:
            n = path.stat().st_size
            if batch and size + n > budget:
                out.append((name, batch))
                batch, size = [], 0
            batch.append(path)
            size += n
        if batch:
            out.append((name, batch))
    return out


def merge_reports(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """One `SyncReport.as_dict()` made of several (documents listed in order, totals added)."""
    merged: dict[str, Any] = {
        "documents": [],
        "totals": {},
        "orphans_removed": 0,
        "optimize_resumed": False,
        "ignored": [],
        "seconds": 0.0,
    }
    for r in reports:
        merged["documents"].extend(r.get("documents", []))
        for key, value in r.get("totals", {}).items():
            merged["totals"][key] = merged["totals"].get(key, 0) + value
        merged["orphans_removed"] += r.get("orphans_removed", 0)
        merged["optimize_resumed"] = merged["optimize_resumed"] or r.get("optimize_resumed", False)
        merged["ignored"].extend(r.get("ignored", []))
        merged["seconds"] = round(merged["seconds"] + r.get("seconds", 0.0), 3)
    return merged


def _answer_body(
    question: str,
    mode: AnswerMode | None,
    date: str | None,
    collections: list[str] | None,
    audience: Audience,
    history: list[dict[str, str]] | None,
    answer_id: str | None,
) -> dict[str, Any]:
    """The request of `/v1/answers` and `/v1/answers/stream` (server/api.py `AnswerRequest`)."""
    return {
        "question": question,
        "mode": AnswerMode(mode).value if mode else None,
        "date": date,
        "collections": collections,
        "audience": Audience(audience).value,
        "history": history,
        "id": answer_id,
    }
