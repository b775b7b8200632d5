"""No input exhausts the machine or crashes a batch: limits checked before the work, encodings
detected or refused with the reason, bad batch lines failing alone (docs/integrity.md)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from assistant.errors import IngestError
from assistant.settings import Settings
from assistant.tuning import TUNING
from ingest.parsing import check_zip, decode_text
from tests.conftest import settings_env

DALIL = [sys.executable, "-m", "assistant.cli"]
RSS_CEILING_MB = 600  # the bomb is 300 MB once decompressed: it must never be held in memory
FR = "Article 2 : Le congé de maternité est accordé à l’agent — « durée » de 14 semaines.\n"
AR = "المادة 19: يستفيد الموظف من منحة التنقل خلال مدة العمل.\n"


# ------------------------------------------------------------------ encodings (unit)
@pytest.mark.unit
@pytest.mark.parametrize("text", [FR * 3, AR * 3, FR[:20], AR[:12]], ids=["fr", "ar", "fr-short", "ar-short"])
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-8", "cp1256", "cp1252"])
def test_text_encodings_are_detected(text: str, encoding: str) -> None:
    try:
        raw = text.encode(encoding)
    except UnicodeEncodeError:
        pytest.skip(f"{encoding} cannot write this text")
    decoded, found = decode_text(raw)
    assert decoded == text, (encoding, found)
    if encoding.startswith("utf-16"):
        assert found == encoding  # without a byte-order mark


@pytest.mark.unit
@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (bytes(range(256)) * 20, "binary content"),
        (b"\x89PNG\r\n\x1a\n" + bytes(2000), "binary content"),
        ("Article 1\n".encode("utf-16-le") + b"\x00", "undecodable text"),  # odd length
        (b"\xef\xbb\xbfArticle 1 \xff\xfe", "undecodable text"),  # a UTF-8 BOM, then not UTF-8
        (b"Article 1 " + b"\x01\x02\x03\x04" * 50, "not text"),
    ],
    ids=["bytes", "png", "utf16-odd", "bom-then-latin1", "controls"],
)
def test_undecodable_text_is_refused_with_the_reason(raw: bytes, message: str) -> None:
    with pytest.raises(IngestError, match=message):
        decode_text(raw)


# ------------------------------------------------------------------ ZIP members (unit)
def _zip_with(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, data)
    return buf.getvalue()


@pytest.mark.unit
def test_zip_ratio_and_lying_header_are_refused() -> None:
    big = _zip_with("word/document.xml", b"<w:p/>" * 1_000_000)  # 6 MB, ~1000x
    with pytest.raises(IngestError, match="compressed .* to 1.*DALIL_MAX_ZIP_RATIO"):
        check_zip(big)
    # a member that declares 1,000 bytes but holds 6 MB: reading stops at the declared size
    forged = bytearray(big)
    central = forged.rfind(b"PK\x01\x02")
    forged[central + 24 : central + 28] = (1000).to_bytes(4, "little")
    local = forged.find(b"PK\x03\x04")
    forged[local + 22 : local + 26] = (1000).to_bytes(4, "little")
    with pytest.raises(IngestError, match="DOCX member word/document.xml"):
        check_zip(bytes(forged))
    with pytest.raises(IngestError, match="corrupt DOCX: not a readable ZIP"):
        check_zip(b"PK not a zip at all")


# ------------------------------------------------------------------ the DOCX bomb (integration)
def docx_bomb(path: Path, template: Path, megabytes: int = 300) -> None:
    """A valid DOCX (the fixture's parts) whose document.xml is `megabytes` MB of repeated
    paragraphs: ~1,000x compressible, written in a streaming way."""
    para = (
        "<w:p><w:r><w:t>Article 1 : la carte est délivrée gratuitement au guichet.</w:t></w:r></w:p>" * 100
    ).encode()
    with zipfile.ZipFile(template) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if info.filename != "word/document.xml":
                out.writestr(info, src.read(info))
                continue
            xml = src.read(info).decode()
            head, tail = xml.split("<w:body>")[0] + "<w:body>", "</w:body></w:document>"
            with out.open("word/document.xml", "w", force_zip64=True) as member:
                member.write(head.encode())
                for _ in range(megabytes * 1024 * 1024 // len(para)):
                    member.write(para)
                member.write(tail.encode())


# The child reports its own peak RSS (VmHWM of its address space) when it exits. The kernel's
# ru_maxrss of a child is not usable here: subprocess starts it with vfork, and on exec Linux keeps
# the larger of the parent's peak and the child's, so a big pytest process would be counted.
_MEASURED = (
    "import atexit, os, sys\n"
    "def _peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            open(os.environ['DALIL_TEST_PEAK_FILE'], 'w').write(line.split()[1])\n"
    "atexit.register(_peak)\n"
    "sys.argv = ['dalil', *sys.argv[1:]]\n"
    "from assistant.cli import main\n"
    "main()\n"
)


def _run_measured(args: list[str], env: dict[str, str], peak_file: Path) -> tuple[int, str, float, float]:
    """(exit code, stdout, seconds, peak RSS in MB) of one `dalil` child process."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURED, *args],
        env={**env, "DALIL_TEST_PEAK_FILE": str(peak_file)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    return proc.returncode, proc.stdout, time.perf_counter() - started, int(peak_file.read_text()) / 1024


@pytest.mark.integration
def test_docx_bomb_fails_fast_in_bounded_memory(fresh: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    from ingest.parsing import parse_file
    from ingest.unstructured_offline import patch_unstructured

    patch_unstructured()  # imports unstructured (~1 s), not part of the refusal
    folder = fresh.corpus_dir / "bombs"
    folder.mkdir()
    bomb = folder / "bomb.docx"
    docx_bomb(bomb, fresh.corpus_dir / "test_fr" / "guide_archives.docx")
    assert bomb.stat().st_size < 3 * 1024 * 1024
    started = time.perf_counter()
    with pytest.raises(IngestError, match="too large once decompressed"):
        parse_file(bomb)
    refuse_s = time.perf_counter() - started
    code, out, wall_s, rss_mb = _run_measured(
        ["ingest", str(folder), "--json"], settings_env(fresh), fresh.data_dir.parent / "peak-rss-kb"
    )
    doc = json.loads(out)["documents"][0]
    with capsys.disabled():
        print(
            f"\nDOCX bomb: {bomb.stat().st_size / 1e6:.1f} MB -> 300 MB; parse_file refused it in "
            f"{refuse_s * 1000:.0f} ms; `dalil ingest` child: {wall_s:.1f} s, peak RSS {rss_mb:.0f} MB"
        )
    assert code == 2 and doc["status"] == "failed"
    assert "too large once decompressed" in doc["error"] and "DALIL_MAX_UNZIPPED_BYTES" in doc["error"]
    assert rss_mb < RSS_CEILING_MB, f"peak RSS {rss_mb:.0f} MB"


@pytest.mark.integration
def test_each_limit_fails_its_file_alone_and_the_batch_goes_on(fresh: Settings) -> None:
    from assistant.index import Index
    from ingest.sync import Syncer

    bad = fresh.corpus_dir / "limits"
    bad.mkdir()
    # size: refused before it is read (sparse file, nothing written)
    with (bad / "huge.txt").open("wb") as fh:
        fh.truncate(TUNING.max_file_bytes + 1)
    # characters: under the size limit, over the character limit
    (bad / "long.txt").write_text("mot " * (TUNING.max_extracted_chars // 4 + 10), encoding="utf-8")
    # chunks: 30 articles, the limit lowered to 20 through the settings (DALIL_MAX_CHUNKS)
    (bad / "many_articles.txt").write_text(
        "\n\n".join(f"Article {i}\n\nL'agent public a droit au congé numéro {i}." for i in range(1, 31)),
        encoding="utf-8",
    )
    (bad / "zero.pdf").write_bytes(b"")
    (bad / "zero.txt").write_bytes(b"")
    (bad / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (bad / "utf16_ar.txt").write_bytes(("المادة 1\n\n" + AR * 5).encode("utf-16-le"))
    (bad / ".notes.txt").write_text("Article 1\n\nbrouillon", encoding="utf-8")
    (bad / ".drafts").mkdir()
    (bad / ".drafts" / "a.txt").write_text("Article 1\n\nbrouillon", encoding="utf-8")
    settings = fresh.model_copy(update={"max_chunks": 20})
    index = Index(settings)
    try:
        report = Syncer(settings, index).run()
    finally:
        index.close()
    docs = {Path(d.path).name: d for d in report.documents}
    assert docs["huge.txt"].status == "failed" and "file too large" in (docs["huge.txt"].error or "")
    assert "DALIL_MAX_FILE_BYTES" in (docs["huge.txt"].error or "")
    assert docs["long.txt"].status == "failed" and "DALIL_MAX_EXTRACTED_CHARS" in (
        docs["long.txt"].error or ""
    )
    many = docs["many_articles.txt"]
    assert many.status == "failed" and "too many chunks: 30" in (many.error or "")
    assert "DALIL_MAX_CHUNKS=20" in (many.error or "")
    for name in ("zero.pdf", "zero.txt"):  # empty, never a "duplicate" of each other
        assert docs[name].status == "failed" and "empty file (0 bytes)" in (docs[name].error or ""), name
    assert docs["binary.txt"].status == "failed" and "binary content" in (docs["binary.txt"].error or "")
    assert docs["utf16_ar.txt"].status == "added"
    assert docs[".notes.txt"].status == "skipped" and "hidden file" in (docs[".notes.txt"].error or "")
    assert docs[".drafts"].status == "skipped" and "hidden folder" in (docs[".drafts"].error or "")
    assert "a.txt" not in docs
    # the rest of the batch is indexed
    assert docs["loi_99-01_conges.pdf"].status == "added"
    assert docs["guide_archives.docx"].status == "added"
    assert report.as_dict()["totals"]["skipped"] == 2
    index = Index(settings)
    texts = [p["text"] for p in index.store.scroll() if p["source"] == "limits/utf16_ar.txt"]
    index.close()
    assert any("منحة التنقل" in t for t in texts)


# ------------------------------------------------------------------ batch inputs (CLI)
def _cli(args: list[str], settings: Settings, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DALIL, *args], env=settings_env(settings), capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.integration
def test_bad_batch_lines_fail_alone(indexed: Settings, tmp_path: Path) -> None:
    queries = tmp_path / "q.jsonl"
    lines = [
        json.dumps({"id": "good1", "question": "congé de maternité"}).encode(),
        b'{"id": "surrogate", "question": "cong\\ud800 maternit\\u00e9"}',
        b'{"id": "bytes", "question": "cong\xed\xa0\x80"}',  # a surrogate encoded in bytes: not UTF-8
        b"this is not json",
        json.dumps({"id": "long", "question": "congé " * 1000}).encode(),
        json.dumps({"id": "good2", "question": "منحة التنقل"}, ensure_ascii=False).encode(),
    ]
    queries.write_bytes(b"\n".join(lines) + b"\n")
    out = _cli(["search", "--queries", str(queries), "--json", "--k", "3"], indexed)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(x) for x in out.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["good1", "surrogate", "3", "4", "long", "good2"]
    by_id = {r["id"]: r for r in rows}
    assert by_id["good1"]["results"] and by_id["good2"]["results"]
    assert "lone surrogate" in by_id["surrogate"]["error"]
    assert "not valid UTF-8" in by_id["3"]["error"]
    assert "not JSON" in by_id["4"]["error"]
    assert "question too long" in by_id["long"]["error"] and "4000" in by_id["long"]["error"]
    assert all(by_id[i]["type"] == "InputError" for i in ("surrogate", "3", "4", "long"))
    answered = _cli(["ask", "--queries", str(queries), "--json", "--mode", "extractive"], indexed)
    assert answered.returncode == 0, answered.stderr
    rows = [json.loads(x) for x in answered.stdout.splitlines()]
    assert [("error" in r) for r in rows] == [False, True, True, True, True, False]


@pytest.mark.integration
@pytest.mark.parametrize("command", ["search", "ask"])
def test_missing_and_binary_queries_files(indexed: Settings, tmp_path: Path, command: str) -> None:
    binary = tmp_path / "q.jsonl"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    for path, message in ((tmp_path / "missing.jsonl", "not found"), (binary, "binary file")):
        plain = _cli([command, "--queries", str(path)], indexed)
        stderr = " ".join(plain.stderr.split())  # the terminal wraps long lines
        assert plain.returncode == 1 and message in stderr and "Traceback" not in stderr
        as_json = _cli([command, "--queries", str(path), "--json"], indexed)
        assert as_json.returncode == 1
        error = json.loads(as_json.stdout)
        assert message in error["error"] and error["type"] == "InputError"


@pytest.mark.integration
def test_missing_and_binary_datasets(indexed: Settings, tmp_path: Path) -> None:
    binary = tmp_path / "set.jsonl"
    shutil.copy(indexed.corpus_dir / "test_fr" / "loi_99-01_conges.pdf", binary)
    for path, message in ((tmp_path / "missing.jsonl", "not found"), (binary, "binary file")):
        plain = _cli(["eval", "run", "--dataset", str(path)], indexed)
        stderr = " ".join(plain.stderr.split())  # the terminal wraps long lines
        assert plain.returncode == 1 and message in stderr and "Traceback" not in stderr
        as_json = _cli(["eval", "run", "--dataset", str(path), "--json"], indexed)
        assert as_json.returncode == 1
        error = json.loads(as_json.stdout)
        assert message in error["error"] and error["type"] == "DatasetError"


@pytest.mark.integration
def test_ask_json_with_an_empty_question_exits_non_zero(indexed: Settings) -> None:
    out = _cli(["ask", "", "--json", "--mode", "extractive"], indexed)
    assert out.returncode == 1, out.stdout
    error = json.loads(out.stdout)
    assert error["error"] and error["type"] == "QueryError"
