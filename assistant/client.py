"""One interface to Dalil for its front ends (the command line, the app, other programs), with two
implementations held congruent by tests (tests/test_client_congruence.py):

- in-process, for a single user: `ingest.local_client.LocalClient` (search and answers through
  `assistant.service.Dalil`, ingestion through `ingest.sync.Syncer`);
- over HTTP, to a running `dalil serve`: `assistant.http_client.HttpClient` (DALIL_API_URL and
  DALIL_API_KEY), where ingestion is a job of the service.

Every method returns plain JSON-able values with exactly the shapes the command line prints with
`--json`, and raises a `DalilError` subclass with a message that says how to fix the problem:
`QueryError`/`InputError` for a bad question or argument, `ConfigError` for a missing key or a
refused permission, `DalilError` otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from assistant.modes import AnswerMode, Audience

if TYPE_CHECKING:  # the command line imports this module at start-up: no index code loaded here
    from assistant.corpus import DocumentMeta
    from assistant.messages import AnswerEvent

# Over HTTP: the person an application's key acts for (percent-encoded UTF-8), recorded by the service
# as "USER via KEY" in the audit trail, withdrawals and jobs (`HttpClient.acting_for`)
USER_HEADER = "X-Dalil-User"

# (files done, files in all, the file being processed) while ingesting
IngestProgress = Callable[[int, int, str], None]


class DalilClient(Protocol):
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
        """A hybrid search: `assistant.api_shapes.search_shape` (`dalil search --json`). Over HTTP
        the audience is at most the key's own (a citizen key: public; asking more is refused).
        Raises QueryError for an empty or too long query, an unknown collection, a bad date."""
        ...

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
        """A cited answer: `assistant.api_shapes.answer_shape` (`dalil ask --json`), recorded in
        the audit trail before it is returned (over HTTP, under the key's name). `history`: earlier
        turns, oldest first, as {role: user|assistant, content}. Raises QueryError/InputError for
        a question that cannot be asked."""
        ...

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
        """The answer of `ask` as it is produced, as the events of `Assistant.ask_stream`
        (assistant/messages.py): a MetaEvent, TokenEvents (ResetEvents when a model answer is
        replaced), then one FinalEvent whose `answer_shape` equals what `ask` returns (timings
        aside) and which carries each citation's full `text`, its audit entry (`audit_id`) and the
        `index_version`; over HTTP each citation's `url` too. The answer is recorded in the audit
        trail before the FinalEvent is given, as asked by `user` (over HTTP: the key's name).
        A bad question raises QueryError/InputError before any event; a failure after the first
        event raises DalilError from the iteration. An iteration stopped before the FinalEvent may
        leave the answer unrecorded (in-process it always does)."""
        ...

    def status(self, *, audience: Audience = Audience.AGENTS) -> dict[str, Any]:
        """What a front end shows before anyone asks: `{model: the chat model's name or None
        (extractive answers), collections: the names `audience` may choose (over HTTP at most the
        key's audience), chunks: passages indexed}`."""
        ...

    def feedback(
        self, audit_id: int, rating: int, *, reason: str | None = None, comment: str | None = None
    ) -> None:
        """Record an asker's rating (1 useful, -1 not) of the answer recorded as `audit_id` (a
        FinalEvent's), with a reason code and a comment (pseudonymised when stored)."""
        ...

    def documents(self) -> list[dict[str, Any]]:
        """The document registry, one `DocumentRecord.as_dict()` per document (`dalil sources
        --json`); over HTTP only the collections the key may see, and the file location (`path`)
        for owners only."""
        ...

    def ingest(
        self,
        paths: list[Path] | None = None,
        *,
        collection: str | None = None,
        prune: bool = False,
        progress: IngestProgress | None = None,
    ) -> dict[str, Any]:
        """Ingest what changed and return the run's `SyncReport.as_dict()` once it has finished,
        `progress` called as files are processed. No `paths`: the corpus (or one collection);
        `paths`: those files (folders are walked). Over HTTP the files are uploaded to the
        collection (`collection`, else each file's folder name) and a job of the service ingests
        them; without paths the job synchronises the service's own corpus. Needs an owner's key
        over HTTP (ConfigError otherwise). Files that fail are reported in the result, not raised."""
        ...

    def withdraw(self, doc_id: str, *, by: str | None = None) -> None:
        """Withdraw a document: out of the index, recorded with who and when (`by`; over HTTP the
        key's name), never re-indexed by a sync until restored. Raises InputError when no such
        document exists (or, over HTTP, the key may not see it)."""
        ...

    def restore(self, doc_id: str, *, progress: IngestProgress | None = None) -> dict[str, Any]:
        """Bring a withdrawn document back and index it again; the run's `SyncReport.as_dict()`
        once it has finished. Raises InputError when `doc_id` is not a withdrawn document."""
        ...

    def reindex(self, doc_id: str | None = None, *, progress: IngestProgress | None = None) -> dict[str, Any]:
        """Process one document again even if its file did not change (`doc_id`), or synchronise
        the whole corpus and the uploaded files (None: what changed); the run's
        `SyncReport.as_dict()` once it has finished. Over HTTP a job of the service (owner's key)."""
        ...

    def edit(
        self, doc_id: str, meta: DocumentMeta, *, progress: IngestProgress | None = None
    ) -> dict[str, Any]:
        """Replace a document's metadata (title, reference, law numbers, in-force dates,
        supersedes, superseded by, parallel text, source URL, language) with `meta`, kept in the
        data directory, never in the collection definitions; the document is re-indexed so that
        its chunks carry it. Returns the re-indexing's `SyncReport.as_dict()`."""
        ...

    def jobs(self, limit: int = 20) -> list[dict[str, Any]]:
        """The service's latest jobs, newest first (`job`'s shape); in-process, where ingestion
        runs to its end when asked, there are none: []."""
        ...

    def job(self, job_id: str) -> dict[str, Any]:
        """A job of the service (`server.jobs.Job.as_dict()`: state, progress, each file's outcome,
        result). In-process, ingestion runs to its end within `ingest` and there are no jobs:
        InputError."""
        ...

    def audit(self, limit: int = 20) -> list[dict[str, Any]]:
        """The latest `limit` entries of the audit trail, newest first (`dalil audit --json`);
        over HTTP for owner and evaluator keys only."""
        ...

    def close(self) -> None:
        """Release what the client holds (index, stores, connections); a second call does nothing."""
        ...
