"""Scale benchmark of the two engines on synthetic chunks (512-d dense + BM25-style sparse,
realistic payloads): upsert rate, hybrid+filter latency, RSS, disk, reopen time.

Each (engine, size) runs in its own process so that RSS is its own.
    python -m benchmarks.scale --engine edge --size 100000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from assistant.dates import FAR_FUTURE
from assistant.payload import ChunkPayload

DIM = 512
VOCAB = 60_000
WORDS_PER_CHUNK = 90
TOPICS = 2_000


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


# Text embeddings are anisotropic and clustered (e5: cosine 0.7-0.95 between any two passages);
# uniform random vectors are the worst case for HNSW in both build time and recall. Chunks here are a
# shared direction + one of TOPICS topic directions + noise: unrelated chunks ~0.5 cosine, same topic ~0.8.
_SPACE = np.random.default_rng(7)
_GLOBAL = _unit(_SPACE.normal(size=DIM))
_CENTROIDS = _unit(_SPACE.normal(size=(TOPICS, DIM)))


def embeddings(rng: np.random.Generator, n: int) -> np.ndarray:
    topics = rng.integers(0, TOPICS, size=n)
    noise = _unit(rng.normal(size=(n, DIM)))
    return _unit(_GLOBAL + 0.8 * _CENTROIDS[topics] + 0.6 * noise)


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def disk_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def make_batch(rng: np.random.Generator, start: int, n: int):  # type: ignore[no-untyped-def]
    from assistant.sparse import SparseVector
    from assistant.store import ChunkPoint

    dense = embeddings(rng, n)
    points = []
    for i in range(n):
        terms = np.unique(rng.zipf(1.3, size=WORDS_PER_CHUNK) % VOCAB)[:60]
        pid = start + i
        points.append(
            ChunkPoint(
                f"doc{pid // 40}:{pid}",
                dense[i],
                SparseVector(
                    [int(t) for t in terms], [float(v) for v in rng.uniform(0.5, 2.0, size=len(terms))]
                ),
                synthetic_payload(pid),
            )
        )
    return points


def synthetic_payload(pid: int) -> ChunkPayload:
    """A payload shaped like Dalil's (same fields and filterable values), for scale runs."""
    doc = f"doc{pid // 40}"
    return {
        "chunk_id": f"{doc}:{pid}",
        "doc_id": doc,
        "version": 1,
        "content_hash": f"{pid:016x}",
        "collection": f"c{pid % 20}",
        "audience": "public" if pid % 4 else "agents",
        "language": ("fr", "ar", "en")[pid % 3],
        "doc_language": ("fr", "ar", "en")[pid % 3],
        "title": f"Document {pid // 40}",
        "reference": None,
        "ref_keys": [f"{pid % 90}-{pid % 13:02d}"],
        "source": f"c{pid % 20}/{doc}.pdf",
        "source_url": None,
        "parallel": None,
        "supersedes": [],
        "superseded_by": None,
        "in_force_from": None,
        "in_force_until": None,
        "valid_from": 20000101,
        "valid_until": FAR_FUTURE if pid % 10 else 20250101,
        "article": f"Article {pid % 500}",
        "article_key": str(pid % 500),
        "article_title": None,
        "hierarchy": "",
        "pages": [1],
        "page": 1,
        "char_start": 0,
        "char_end": 900,
        "kind": "article",
        "part": 1,
        "parts": 1,
        "text": "x" * 900,
        "injection": [],
    }


def dense_recall(store, rng: np.random.Generator, n: int = 50) -> float:  # type: ignore[no-untyped-def]
    """Share of the exact filtered top-10 (brute force) that the store's own search returns."""
    from assistant.store import DENSE, Leg, Where

    where = Where(audiences=["public"], languages=["fr"], in_force_on=20261122)
    found = 0
    for _ in range(n):
        q = embeddings(rng, 1)[0]
        approx = {h.chunk_id for h in store.search([Leg(DENSE, q, where, 10)], limit=10)}
        exact = {h.chunk_id for h in store.search([Leg(DENSE, q, where, 10)], limit=10, exact=True)}
        found += len(approx & exact)
    return found / (10 * n)


def run_one(engine: str, size: int, queries: int) -> dict[str, object]:
    from assistant.settings import Settings
    from assistant.sparse import SparseVector
    from assistant.store import DENSE, SPARSE, IndexMeta, Leg, Where
    from assistant.store.client import ClientStore
    from assistant.store.edge import EdgeStore

    work = Path(tempfile.mkdtemp(prefix=f"scale-{engine}-"))
    meta = IndexMeta("synthetic", DIM, "synthetic")

    def open_store():  # type: ignore[no-untyped-def]
        if engine == "edge":
            s: EdgeStore | ClientStore = EdgeStore(str(work / "edge"))
        else:
            s = ClientStore(Settings(data_dir=work), path=str(work / "local"))
        s.open(meta)
        return s

    rng = np.random.default_rng(42)
    base_rss = rss_mb()
    store = open_store()
    t0 = time.perf_counter()
    batch = 5000
    gen_time = 0.0
    for start in range(0, size, batch):
        g = time.perf_counter()
        pts = make_batch(rng, start, min(batch, size - start))
        gen_time += time.perf_counter() - g
        store.upsert(pts)
    upsert_s = time.perf_counter() - t0 - gen_time
    optimize_s = 0.0
    if engine == "edge":
        t = time.perf_counter()
        store.optimize()  # type: ignore[attr-defined]
        optimize_s = time.perf_counter() - t
    store.flush()
    lat = []
    for _ in range(queries):
        q = embeddings(rng, 1)[0]
        terms = np.unique(rng.zipf(1.3, size=8) % VOCAB)
        sparse = SparseVector([int(x) for x in terms], [1.0] * len(terms))
        where = Where(audiences=["public"], languages=["fr"], in_force_on=20261122)
        t = time.perf_counter()
        store.search([Leg(DENSE, q, where, 50), Leg(SPARSE, sparse, where, 50)], limit=10)
        lat.append((time.perf_counter() - t) * 1000)
    rss = rss_mb() - base_rss
    recall = dense_recall(store, rng) if engine == "edge" else 1.0
    store.close()
    del store
    t = time.perf_counter()
    again = open_store()
    count = again.count()
    reopen_s = time.perf_counter() - t
    again.close()
    disk = disk_mb(work)
    shutil.rmtree(work, ignore_errors=True)
    lat.sort()
    return {
        "engine": engine,
        "size": size,
        "count_after_reopen": count,
        "upsert_points_per_s": round(size / upsert_s, 1),
        "optimize_s": round(optimize_s, 2),
        "hybrid_filter_p50_ms": round(statistics.median(lat), 2),
        "hybrid_filter_p95_ms": round(lat[min(len(lat) - 1, int(0.95 * len(lat)))], 2),
        "queries": queries,
        "filtered_dense_recall@10_vs_exact": round(recall, 3),
        "rss_mb": round(rss, 1),
        "disk_mb": round(disk, 1),
        "reopen_s": round(reopen_s, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine")
    ap.add_argument("--size", type=int)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--plan", default="edge:10000,edge:100000,edge:1000000,qdrant:10000,qdrant:100000")
    ap.add_argument("--out", default="benchmarks/results/scale.json")
    args = ap.parse_args()
    if args.engine:
        print(json.dumps(run_one(args.engine, args.size, args.queries)))
        return
    results = []
    for item in args.plan.split(","):
        engine, size = item.split(":")
        n = int(size)
        queries = 200 if engine == "edge" else (50 if n <= 10_000 else 15)
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.scale",
                "--engine",
                engine,
                "--size",
                str(n),
                "--queries",
                str(queries),
            ],
            capture_output=True,
            text=True,
            env=os.environ.copy(),
            timeout=7200,
        )
        if proc.returncode != 0:
            results.append({"engine": engine, "size": n, "error": proc.stderr[-800:]})
        else:
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), flush=True)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(
            json.dumps({"machine": {"cpus": os.cpu_count()}, "results": results}, indent=2)
        )


if __name__ == "__main__":
    main()
