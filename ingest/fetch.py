"""The corpus on any machine: the texts named by the collection definitions, downloaded into the
corpus folder and verified (`dalil corpus fetch`).

Each document of `corpora/*.yaml` may carry `url` (where its file is published) and `sha256` (the
checksum of the text Dalil was built and evaluated on). Fetching:

- checks every address against the egress allow-list (`assistant/egress.py`) before any
  connection, redirects included: a host that is neither loopback nor in DALIL_ALLOWED_HOSTS is
  refused, never resolved;
- downloads into `<corpus>/.partial/<folder>/<file>.part` and moves the file to its place only
  once its SHA-256 matches; bytes that differ are moved to `<corpus>/.quarantine/<folder>/`,
  reported, and never ingested (hidden folders are not documents);
- resumes: files already present and verified are skipped, a partial download continues with an
  HTTP Range request (or starts again when the server ignores it);
- leaves alone a file already in the corpus folder that differs from its recorded checksum (it
  may be a newer official version an owner put there): it is reported, not replaced;
- says which documents have no downloadable source (no `url`) and are not in the folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx

from assistant.corpus import Collection, DocumentMeta, check_collection_name, load_collections
from assistant.egress import check_url
from assistant.errors import ConfigError, DalilError, EgressError
from assistant.settings import REPO_ROOT, Settings

PARTIAL_DIR = ".partial"
QUARANTINE_DIR = ".quarantine"
# where the texts go on a machine without a corpus and without DALIL_CORPUS_DIR: the repository's
# own corpus folder, which the default DALIL_CORPUS_DIR picks up as soon as it exists
LOCAL_CORPUS = REPO_ROOT / "corpora" / "files"
CHUNK_BYTES = 1 << 16
SHA256 = re.compile(r"[0-9a-f]{64}")


class FetchStatus(StrEnum):
    PRESENT = "present"  # already in the corpus folder, checksum verified (or none recorded)
    DOWNLOADED = "downloaded"  # downloaded, checksum verified, moved into place
    MODIFIED = "modified"  # in the corpus folder but different from the recorded checksum: kept as is
    QUARANTINED = "quarantined"  # downloaded bytes differ from the recorded checksum: kept apart
    NO_SOURCE = "no_source"  # not in the corpus folder and no address to download it from
    REFUSED = "refused"  # its host is not in DALIL_ALLOWED_HOSTS: nothing was sent
    FAILED = "failed"  # network or HTTP error; what arrived is kept to resume


OK_STATUSES = frozenset({FetchStatus.PRESENT, FetchStatus.DOWNLOADED})


class FetchError(DalilError):
    """One document could not be downloaded (HTTP status, connection, size limit)."""


@dataclass
class FetchResult:
    collection: str
    file: str  # <folder>/<file name>, as ingestion names it
    status: FetchStatus
    url: str | None = None
    sha256: str | None = None  # the recorded checksum
    actual_sha256: str | None = None  # what the bytes found or downloaded hash to
    bytes: int = 0
    resumed: bool = False  # a partial download was continued with a Range request
    path: str | None = None  # where the file is now (its quarantine place for a changed file)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "status": self.status.value}


@dataclass
class FetchReport:
    corpus_dir: Path
    documents: list[FetchResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(d.status in OK_STATUSES for d in self.documents)

    @property
    def exit_code(self) -> int:
        """0: every document is in place and verified; 2: some are missing, changed or refused."""
        return 0 if self.ok else 2

    def totals(self) -> dict[str, int]:
        counts = {s.value: 0 for s in FetchStatus}
        for d in self.documents:
            counts[d.status.value] += 1
        return counts

    def as_dict(self) -> dict[str, Any]:
        return {
            "corpus_dir": str(self.corpus_dir),
            "documents": [d.as_dict() for d in self.documents],
            "no_source": [d.file for d in self.documents if d.status == FetchStatus.NO_SOURCE],
            "quarantined": [
                {"file": d.file, "path": d.path, "expected": d.sha256, "actual": d.actual_sha256}
                for d in self.documents
                if d.status == FetchStatus.QUARANTINED
            ],
            "totals": self.totals(),
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
        }


def fetch_target(settings: Settings) -> Path:
    """The folder the texts go to: DALIL_CORPUS_DIR when set or when the default folder exists,
    else the repository's `corpora/files/` (never a folder outside the checkout nobody named)."""
    if "corpus_dir" in settings.model_fields_set or settings.corpus_dir.is_dir():
        return settings.corpus_dir
    return LOCAL_CORPUS


def missing_corpus_message(corpus_dir: Path) -> str:
    """The one message for a corpus folder that does not exist, naming both ways out."""
    return (
        f"the corpus folder {corpus_dir} does not exist, so there is nothing to ingest. Either download "
        "the texts named by the collection definitions (corpora/*.yaml) with `dalil corpus fetch` "
        "(checksums verified), or set DALIL_CORPUS_DIR to the folder that holds the collection "
        "folders (e.g. DALIL_CORPUS_DIR=/srv/dalil/corpora), then run `dalil ingest` again."
    )


def require_corpus(corpus_dir: Path) -> None:
    """Raise the missing-corpus message when the corpus folder does not exist."""
    if not corpus_dir.is_dir():
        raise ConfigError(missing_corpus_message(corpus_dir))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def _content_range_start(response: httpx.Response) -> int | None:
    """The first byte of a 206 response (`Content-Range: bytes START-END/TOTAL`)."""
    match = re.match(r"bytes\s+(\d+)-", response.headers.get("content-range", ""))
    return int(match.group(1)) if match else None


class CorpusFetcher:
    """Downloads and verifies the documents of the collection definitions into `corpus_dir`.

    `client` is an httpx client to use (tests); by default one is built whose every request,
    redirects included, is checked against the allow-list first."""

    def __init__(
        self,
        settings: Settings,
        corpus_dir: Path | None = None,
        client: httpx.Client | None = None,
        progress: Callable[[int, int, str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.corpus_dir = corpus_dir or fetch_target(settings)
        self.allowed = list(settings.allowed_hosts)
        self._own_client = client is None
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(30.0, connect=10.0),
            follow_redirects=True,
            event_hooks={"request": [self._check_request]},
        )
        self.progress = progress or (lambda done, total, message: None)

    def __enter__(self) -> CorpusFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def _check_request(self, request: httpx.Request) -> None:
        # every request, a redirect's too, before any DNS lookup or connection
        check_url(str(request.url), "a collection definition's url (redirected)", self.allowed)

    # ------------------------------------------------------------------ run
    def documents(self, collection: str | None) -> Iterator[tuple[Collection, str, DocumentMeta]]:
        collections = load_collections(self.settings.definitions_dir)
        if not collections:
            raise ConfigError(
                f"no collection definition in {self.settings.definitions_dir}: nothing to fetch "
                "(set DALIL_DEFINITIONS_DIR to the folder of the corpora/*.yaml files)"
            )
        if collection is not None:
            check_collection_name(collection, where="--collection")
            if collection not in collections:
                raise ConfigError(
                    f"no collection {collection!r} in {self.settings.definitions_dir}: "
                    f"choose one of {sorted(collections)}"
                )
            collections = {collection: collections[collection]}
        for coll in collections.values():
            for name, meta in coll.documents.items():
                yield coll, name, meta

    def run(self, collection: str | None = None) -> FetchReport:
        started = time.perf_counter()
        items = list(self.documents(collection))
        report = FetchReport(self.corpus_dir)
        for i, (coll, name, meta) in enumerate(items):
            self.progress(i, len(items), name)
            report.documents.append(self.fetch_one(coll, name, meta))
        self.progress(len(items), len(items), "done")
        report.seconds = time.perf_counter() - started
        return report

    # ------------------------------------------------------------------ one document
    def fetch_one(self, coll: Collection, name: str, meta: DocumentMeta) -> FetchResult:
        folder = coll.folder or coll.name
        result = FetchResult(
            coll.name, f"{folder}/{name}", FetchStatus.FAILED, url=meta.url, sha256=meta.sha256
        )
        where = coll.definition_path.name if coll.definition_path else coll.name
        problem = self._check_names(folder, name, meta, where)
        if problem:
            result.error = problem
            return result
        target = self.corpus_dir / folder / name
        if target.is_file():
            return self._verify_present(result, target, where)
        if not meta.url:
            result.status = FetchStatus.NO_SOURCE
            result.error = (
                f"not in {self.corpus_dir / folder} and no downloadable source: {where} gives no url "
                "for it; copy the file there by hand"
            )
            return result
        try:
            check_url(meta.url, f"the url of {folder}/{name} in {where}", self.allowed)
        except EgressError as exc:
            result.status = FetchStatus.REFUSED
            result.error = str(exc)
            return result
        part = self.corpus_dir / PARTIAL_DIR / folder / f"{name}.part"
        try:
            part.parent.mkdir(parents=True, exist_ok=True)
            result.resumed = self._download(meta.url, part)
        except EgressError as exc:  # a redirect to a host that is not allowed
            result.status = FetchStatus.REFUSED
            result.error = str(exc)
            return result
        except (FetchError, httpx.HTTPError, OSError) as exc:
            result.error = _describe(exc, meta.url, part)
            return result
        return self._settle(result, part, target)

    def _check_names(self, folder: str, name: str, meta: DocumentMeta, where: str) -> str | None:
        if not name or name != Path(name).name or name.startswith(".") or "\\" in name:
            return f"{where}: document name {name!r} is not a plain file name: fix the collection definition"
        try:
            check_collection_name(folder, where=f"{where}: folder")
        except ConfigError as exc:
            return str(exc)
        if meta.sha256 is not None and not SHA256.fullmatch(meta.sha256):
            return f"{where}: sha256 of {name} is not 64 hexadecimal digits: fix the collection definition"
        return None

    def _verify_present(self, result: FetchResult, target: Path, where: str) -> FetchResult:
        actual = sha256_of(target)
        result.actual_sha256 = actual
        result.bytes = target.stat().st_size
        result.path = str(target)
        if result.sha256 is None or actual == result.sha256:
            result.status = FetchStatus.PRESENT
            return result
        result.status = FetchStatus.MODIFIED
        result.error = (
            f"{target} differs from the checksum recorded in {where} (sha256 {actual[:16]}…, expected "
            f"{result.sha256[:16]}…): kept as is. If it is a new official version, record its sha256 "
            "there; otherwise move it away and run `dalil corpus fetch` again"
        )
        return result

    def _download(self, url: str, part: Path) -> bool:
        """Download `url` into `part`, continuing what is already there. True when resumed."""
        offset = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        limit = self.settings.max_file_bytes
        with self.client.stream("GET", url, headers=headers) as response:
            if response.status_code == 416 and offset:  # nothing left to send: the part is whole
                return True
            if response.status_code == 206 and offset and _content_range_start(response) == offset:
                mode, resumed = "ab", True
            elif response.status_code == 200:
                mode, resumed, offset = "wb", False, 0  # the server ignored the range: start again
            else:
                raise FetchError(f"HTTP {response.status_code} {response.reason_phrase} from {url}")
            written = offset
            with part.open(mode) as fh:
                for block in response.iter_bytes():  # as it arrives: an interruption keeps it
                    written += len(block)
                    if written > limit:
                        break
                    fh.write(block)
                fh.flush()
                os.fsync(fh.fileno())
        if written > limit:  # nothing worth resuming
            part.unlink()
            raise FetchError(
                f"{url} is larger than DALIL_MAX_FILE_BYTES={limit:,} bytes: not downloaded "
                "(raise the limit if this file is expected to be that large)"
            )
        return resumed

    def _settle(self, result: FetchResult, part: Path, target: Path) -> FetchResult:
        actual = sha256_of(part)
        result.actual_sha256 = actual
        result.bytes = part.stat().st_size
        if result.sha256 is None or actual == result.sha256:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(part, target)
            result.status = FetchStatus.DOWNLOADED
            result.path = str(target)
            return result
        name = Path(result.file)
        kept = self.corpus_dir / QUARANTINE_DIR / name.parent / f"{name.stem}.{actual[:12]}{name.suffix}"
        kept.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, kept)
        result.status = FetchStatus.QUARANTINED
        result.path = str(kept)
        result.error = (
            f"the file at {result.url} has changed: its sha256 is {actual[:16]}…, the collection "
            f"definition records {result.sha256[:16]}…. It was not put in the corpus; it is kept apart "
            f"in {kept} for review. If the new version is the official text, record its sha256 in the "
            "collection definition and run `dalil corpus fetch` again"
        )
        return result


def _describe(exc: BaseException, url: str, part: Path) -> str:
    kept = part.stat().st_size if part.exists() else 0
    resume = f"; {kept:,} bytes kept in {part}, run `dalil corpus fetch` again to resume" if kept else ""
    if isinstance(exc, FetchError):
        return f"{exc}{resume}"
    if isinstance(exc, httpx.HTTPError):
        return f"download of {url} failed ({type(exc).__name__}: {exc}){resume}"
    return f"could not write {part}: {exc} (is the corpus folder writable?)"
