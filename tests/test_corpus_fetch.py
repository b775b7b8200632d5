"""`dalil corpus fetch` against a real HTTP server on 127.0.0.1 serving fixture files: downloads
verified by SHA-256, changed files kept apart, interrupted downloads resumed with a Range request,
documents without a source reported, hosts outside the allow-list refused; and the one message
for a missing corpus folder. Nothing here leaves the machine."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from assistant.settings import Settings
from ingest.fetch import PARTIAL_DIR, QUARANTINE_DIR, CorpusFetcher, FetchStatus

REPO = Path(__file__).resolve().parent.parent

GOOD = "# Article 1\n\nLe présent texte est publié au Bulletin officiel.\n".encode()
CHANGED_AT_SOURCE = "# Article 1\n\nUne autre version, publiée depuis.\n".encode()
RECORDED_FOR_CHANGED = "# Article 1\n\nLa version enregistrée.\n".encode()
# large enough to arrive in several reads, so an interruption leaves a part to resume
LARGE = ("المادة 1\n" + "نص قانوني " * 40_000).encode()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Loopback:
    """A file server on 127.0.0.1 that honours Range requests, records what it was asked, and can
    cut a response short once (an interrupted download) or redirect."""

    files: dict[str, bytes]
    cut_once: set[str] = field(default_factory=set)
    redirects: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _handler(state: Loopback) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            state.requests.append((self.path, self.headers.get("Range")))
            if self.path in state.redirects:
                self.send_response(302)
                self.send_header("Location", state.redirects[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = state.files.get(self.path)
            if data is None:
                self.send_error(404)
                return
            start = 0
            wanted = self.headers.get("Range")
            if wanted and wanted.startswith("bytes=") and wanted.endswith("-"):
                start = int(wanted[len("bytes=") : -1])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.path in state.cut_once and not wanted:
                state.cut_once.discard(self.path)
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


@pytest.fixture()
def loopback() -> Iterator[Loopback]:
    state = Loopback(
        files={
            "/texts/loi.md": GOOD,
            "/texts/changed.md": CHANGED_AT_SOURCE,
            "/texts/large.txt": LARGE,
        }
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def write_definitions(defs: Path, documents: dict[str, dict[str, str]]) -> None:
    lines = ["name: demo", "audience: public", "language: fr", "folder: demo", "documents:"]
    for name, meta in documents.items():
        lines.append(f"  {name}:")
        lines.extend(f"    {k}: {v}" for k, v in meta.items())
    defs.mkdir(parents=True, exist_ok=True)
    (defs / "demo.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def settings_for(tmp_path: Path, **extra: object) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        corpus_dir=tmp_path / "corpus",
        definitions_dir=tmp_path / "defs",
        **extra,  # type: ignore[arg-type]
    )


def statuses(report_dict: dict[str, object]) -> dict[str, str]:
    return {d["file"]: d["status"] for d in report_dict["documents"]}  # type: ignore[attr-defined,index]


@pytest.mark.unit
def test_downloads_verified_files_into_place_and_skips_them_next_time(
    tmp_path: Path, loopback: Loopback
) -> None:
    write_definitions(
        tmp_path / "defs", {"loi.md": {"url": loopback.url("/texts/loi.md"), "sha256": sha(GOOD)}}
    )
    settings = settings_for(tmp_path)
    with CorpusFetcher(settings) as fetcher:
        report = fetcher.run()
    assert statuses(report.as_dict()) == {"demo/loi.md": "downloaded"}
    assert report.exit_code == 0
    assert (tmp_path / "corpus" / "demo" / "loi.md").read_bytes() == GOOD
    assert not list((tmp_path / "corpus" / PARTIAL_DIR).rglob("*.part"))  # renamed, not copied

    asked = len(loopback.requests)
    with CorpusFetcher(settings) as fetcher:
        again = fetcher.run()
    assert statuses(again.as_dict()) == {"demo/loi.md": "present"}
    assert len(loopback.requests) == asked  # a verified file is not downloaded again


@pytest.mark.unit
def test_a_file_changed_at_the_source_is_kept_apart_and_reported(tmp_path: Path, loopback: Loopback) -> None:
    write_definitions(
        tmp_path / "defs",
        {"changed.md": {"url": loopback.url("/texts/changed.md"), "sha256": sha(RECORDED_FOR_CHANGED)}},
    )
    with CorpusFetcher(settings_for(tmp_path)) as fetcher:
        report = fetcher.run()
    summary = report.as_dict()
    assert statuses(summary) == {"demo/changed.md": "quarantined"}
    assert report.exit_code == 2
    assert not (tmp_path / "corpus" / "demo" / "changed.md").exists()  # never silently accepted
    [kept] = summary["quarantined"]
    assert kept["expected"] == sha(RECORDED_FOR_CHANGED) and kept["actual"] == sha(CHANGED_AT_SOURCE)
    assert Path(kept["path"]).read_bytes() == CHANGED_AT_SOURCE
    assert Path(kept["path"]).is_relative_to(tmp_path / "corpus" / QUARANTINE_DIR)
    error = report.documents[0].error or ""
    assert "has changed" in error and "sha256" in error


@pytest.mark.unit
def test_an_interrupted_download_resumes_with_a_range_request(tmp_path: Path, loopback: Loopback) -> None:
    loopback.cut_once.add("/texts/large.txt")
    write_definitions(
        tmp_path / "defs", {"large.txt": {"url": loopback.url("/texts/large.txt"), "sha256": sha(LARGE)}}
    )
    settings = settings_for(tmp_path)
    with CorpusFetcher(settings) as fetcher:
        first = fetcher.run()
    assert first.documents[0].status == FetchStatus.FAILED
    assert "resume" in (first.documents[0].error or "")
    part = tmp_path / "corpus" / PARTIAL_DIR / "demo" / "large.txt.part"
    kept = part.stat().st_size
    assert 0 < kept < len(LARGE)
    assert not (tmp_path / "corpus" / "demo" / "large.txt").exists()

    with CorpusFetcher(settings) as fetcher:
        second = fetcher.run()
    assert second.documents[0].status == FetchStatus.DOWNLOADED
    assert second.documents[0].resumed
    assert loopback.requests[-1] == ("/texts/large.txt", f"bytes={kept}-")
    assert (tmp_path / "corpus" / "demo" / "large.txt").read_bytes() == LARGE
    assert not part.exists()


@pytest.mark.unit
def test_documents_without_a_downloadable_source_are_named(tmp_path: Path, loopback: Loopback) -> None:
    write_definitions(
        tmp_path / "defs",
        {
            "loi.md": {"url": loopback.url("/texts/loi.md"), "sha256": sha(GOOD)},
            "scan.pdf": {"source_url": "https://portail.example", "sha256": "ab" * 32},
        },
    )
    with CorpusFetcher(settings_for(tmp_path)) as fetcher:
        report = fetcher.run()
    summary = report.as_dict()
    assert summary["no_source"] == ["demo/scan.pdf"]
    assert statuses(summary) == {"demo/loi.md": "downloaded", "demo/scan.pdf": "no_source"}
    assert report.exit_code == 2  # the corpus is incomplete


@pytest.mark.unit
def test_a_local_file_that_differs_is_reported_and_left_alone(tmp_path: Path, loopback: Loopback) -> None:
    write_definitions(
        tmp_path / "defs", {"loi.md": {"url": loopback.url("/texts/loi.md"), "sha256": sha(GOOD)}}
    )
    local = tmp_path / "corpus" / "demo" / "loi.md"
    local.parent.mkdir(parents=True)
    local.write_bytes(b"# Article 1\n\nedited by hand\n")
    with CorpusFetcher(settings_for(tmp_path)) as fetcher:
        report = fetcher.run()
    assert report.documents[0].status == FetchStatus.MODIFIED
    assert local.read_bytes() == b"# Article 1\n\nedited by hand\n"
    assert loopback.requests == []


@pytest.mark.unit
def test_a_host_outside_the_allow_list_is_refused_before_any_connection(
    tmp_path: Path, loopback: Loopback
) -> None:
    loopback.redirects["/texts/moved.md"] = "http://mirror.example.invalid/loi.md"
    write_definitions(
        tmp_path / "defs",
        {
            "remote.md": {"url": "https://textes.example.invalid/loi.md", "sha256": sha(GOOD)},
            "moved.md": {"url": loopback.url("/texts/moved.md"), "sha256": sha(GOOD)},
        },
    )
    with CorpusFetcher(settings_for(tmp_path, allowed_hosts=["llm.example.invalid"])) as fetcher:
        report = fetcher.run()
    results = {d.file: d for d in report.documents}
    assert results["demo/remote.md"].status == FetchStatus.REFUSED
    refusal = results["demo/remote.md"].error or ""
    assert "textes.example.invalid" in refusal and "DALIL_ALLOWED_HOSTS" in refusal
    # a redirect away from an allowed host is checked like the first address
    assert results["demo/moved.md"].status == FetchStatus.REFUSED
    assert "mirror.example.invalid" in (results["demo/moved.md"].error or "")
    assert not (tmp_path / "corpus" / "demo").exists()
    assert report.exit_code == 2


@pytest.mark.unit
def test_the_collection_definitions_of_the_repository_record_a_checksum_for_every_document() -> None:
    from assistant.corpus import load_collections

    collections = load_collections(REPO / "corpora")
    documents = [(c.name, n, m) for c in collections.values() for n, m in c.documents.items()]
    assert documents
    for coll, name, meta in documents:
        assert meta.sha256 and len(meta.sha256) == 64, f"{coll}/{name} has no sha256"
        if meta.url:
            assert meta.url.startswith("https://"), f"{coll}/{name}: {meta.url}"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DALIL_ALLOWED_HOSTS", None)
    env.update(
        {
            "DALIL_DATA_DIR": str(tmp_path / "data"),
            "DALIL_CORPUS_DIR": str(tmp_path / "corpus"),
            "DALIL_DEFINITIONS_DIR": str(tmp_path / "defs"),
            "DALIL_CONFIG_FILE": "",
            **extra,
        }
    )
    return env


def _dalil(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.integration
def test_the_command_prints_one_json_summary_and_exits_2_when_incomplete(
    tmp_path: Path, loopback: Loopback
) -> None:
    write_definitions(
        tmp_path / "defs",
        {
            "loi.md": {"url": loopback.url("/texts/loi.md"), "sha256": sha(GOOD)},
            "scan.pdf": {"sha256": "ab" * 32},
        },
    )
    out = _dalil("corpus", "fetch", "--json", env=_env(tmp_path))
    assert out.returncode == 2, out.stderr
    summary = json.loads(out.stdout)
    assert summary["totals"]["downloaded"] == 1 and summary["no_source"] == ["demo/scan.pdf"]
    assert summary["ok"] is False and summary["corpus_dir"] == str(tmp_path / "corpus")

    (tmp_path / "defs" / "demo.yaml").write_text(
        (tmp_path / "defs" / "demo.yaml")
        .read_text()
        .replace("  scan.pdf:\n    sha256: " + "ab" * 32 + "\n", "")
    )
    again = _dalil("corpus", "fetch", "--json", "--collection", "demo", env=_env(tmp_path))
    assert again.returncode == 0, again.stdout
    assert json.loads(again.stdout)["totals"]["present"] == 1

    unknown = _dalil("corpus", "fetch", "--json", "--collection", "nope", env=_env(tmp_path))
    assert unknown.returncode == 1
    assert json.loads(unknown.stdout)["type"] == "ConfigError"


@pytest.mark.integration
def test_a_missing_corpus_folder_is_one_message_naming_both_ways_out(tmp_path: Path) -> None:
    write_definitions(tmp_path / "defs", {"loi.md": {"sha256": sha(GOOD)}})
    out = _dalil("ingest", "--json", env=_env(tmp_path))
    assert out.returncode == 1
    error = json.loads(out.stdout)
    assert "dalil corpus fetch" in error["error"] and "DALIL_CORPUS_DIR" in error["error"]
    assert str(tmp_path / "corpus") in error["error"]
    assert "file not found" not in out.stdout + out.stderr
    assert not (tmp_path / "data" / "index").exists()  # refused before the index was opened
