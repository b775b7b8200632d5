"""Load of the HTTP service: `dalil serve` over the real corpus index, driven over loopback by
1, 8, 32 and 64 concurrent clients (asyncio + httpx) asking the dev questions — extractive answers
through `POST /v1/chat/completions` (model `dalil-extractive`), and search alone (`POST
/v1/search`) — then the same while ingestion jobs run (documents uploaded to `POST /v1/documents`,
one after the other, so that a job is running throughout). Each client sends its next request as
soon as the previous one is answered (a closed loop), for a fixed time per level.

Recorded per level: requests, throughput, p50/p95/p99 latency, errors (any status but 200, or a
transport error) and the server process's resident memory (VmRSS) and peak (VmHWM, from /proc).
Results: benchmarks/results/load.json; `python -m benchmarks.run --docs-only` renders them into
docs/benchmarks.md. Part of `make bench` (over the index the ingestion benchmark built), or alone:

    python -m benchmarks.load --data-dir /path/to/an/indexed/data-dir [--seconds 8]

The service runs over a private copy of that data directory (uploads never touch the original),
with the per-key rate limit raised out of the way: this measures capacity, not the limiter.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
WORK = ROOT / "benchmarks" / "work"
LEVELS = (1, 8, 32, 64)
SECONDS_PER_LEVEL = 8.0
READY_TIMEOUT_S = 600.0
REQUEST_TIMEOUT_S = 120.0
UPLOAD_COLLECTION = "bench-uploads"
UPLOAD_ARTICLES = 120  # ~120 new chunks a job: tens of seconds of embedding on 2 cores
# Agents at work, rather than clients firing back to back: each reads an answer before asking again
# (a think time drawn uniformly in THINK_S, a convention of load tests, not measured on agents here)
PACED_AGENTS = (32, 64)
THINK_S = (2.0, 6.0)
PACED_SECONDS = 30.0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (the method of benchmarks/run.py)."""
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else 0.0


def memory_mb(pid: int) -> dict[str, float]:
    """The process's resident memory now and its peak, in MB (Linux /proc)."""
    out = {"rss_mb": 0.0, "peak_rss_mb": 0.0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out["rss_mb"] = round(int(line.split()[1]) / 1024, 1)
            elif line.startswith("VmHWM:"):
                out["peak_rss_mb"] = round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dev_questions(corpus_dir: Path) -> list[str]:
    path = corpus_dir / "eval" / "dev.jsonl"
    return [
        json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


# ------------------------------------------------------------------------------ the service
@dataclass
class Service:
    process: subprocess.Popen[bytes]
    url: str
    keys: dict[str, str]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_service(data_dir: Path, corpus_dir: Path, log: Path) -> Service:
    """`dalil serve` on a free loopback port over `data_dir`, with an agent and an owner key."""
    env = {
        **os.environ,
        "DALIL_DATA_DIR": str(data_dir),
        "DALIL_CORPUS_DIR": str(corpus_dir),
        "DALIL_API_RATE_PER_S": "100000",
        "DALIL_API_RATE_BURST": "100000",
        "DALIL_CONFIG_FILE": "",
    }
    env.pop("DALIL_API_URL", None)
    keys = _make_keys(env)
    port = free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    service = Service(process, f"http://127.0.0.1:{port}", keys, log)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dalil serve exited ({process.returncode}); see {log}")
        try:
            if httpx.get(service.url + "/readyz", timeout=5).status_code == 200:
                return service
        except httpx.HTTPError:
            pass
        time.sleep(1)
    service.stop()
    raise RuntimeError(f"dalil serve was not ready after {READY_TIMEOUT_S:.0f} s; see {log}")


def _make_keys(env: dict[str, str]) -> dict[str, str]:
    """API keys created through the key store, in the service's environment (same secret key)."""
    code = (
        "import json\n"
        "from assistant.apikeys import ApiKeyStore\n"
        "from assistant.keys import secret_key\n"
        "from assistant.settings import get_settings\n"
        "s = get_settings(); s.ensure_dirs()\n"
        "store = ApiKeyStore(s.apikeys_path, secret_key(s))\n"
        "stamp = __import__('time').strftime('%Y%m%d%H%M%S')\n"
        "keys = {role: store.add(f'bench-load-{role}-{stamp}', role)[1] for role in ('agent', 'owner')}\n"
        "store.close(); print(json.dumps(keys))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


# ------------------------------------------------------------------------------ the load
@dataclass
class Level:
    clients: int
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        n = len(self.latencies_ms) + sum(self.errors.values())
        failed = sum(self.errors.values())
        return {
            "clients": self.clients,
            "requests": n,
            "errors": failed,
            "error_rate": round(failed / n, 4) if n else 0.0,
            "errors_by_kind": self.errors,
            "throughput_rps": round(n / self.seconds, 2) if self.seconds else 0.0,
            "latency_ms": {
                "p50": percentile(self.latencies_ms, 0.50),
                "p95": percentile(self.latencies_ms, 0.95),
                "p99": percentile(self.latencies_ms, 0.99),
                "max": round(max(self.latencies_ms), 1) if self.latencies_ms else 0.0,
            },
            "seconds": round(self.seconds, 2),
        }


def _request(kind: str, question: str) -> tuple[str, dict[str, Any]]:
    if kind == "search":
        return "/v1/search", {"query": question, "k": 8}
    return "/v1/chat/completions", {
        "model": "dalil-extractive",
        "messages": [{"role": "user", "content": question}],
    }


async def run_level(
    client: httpx.AsyncClient, kind: str, clients: int, questions: list[str], seconds: float
) -> Level:
    level = Level(clients)
    deadline = time.perf_counter() + seconds

    async def one_client(i: int) -> None:
        n = i * 7  # each client walks the questions from its own offset
        while time.perf_counter() < deadline:
            await _timed(client, level, kind, questions[n % len(questions)])
            n += 1

    started = time.perf_counter()
    await asyncio.gather(*(one_client(i) for i in range(clients)))
    level.seconds = time.perf_counter() - started
    return level


async def run_paced(
    client: httpx.AsyncClient, kind: str, agents: int, questions: list[str], seconds: float
) -> Level:
    """`agents` agents, each asking, reading the answer (a think time in THINK_S), asking again."""
    level = Level(agents)
    deadline = time.perf_counter() + seconds

    async def one_agent(i: int) -> None:
        rng = random.Random(i)
        await asyncio.sleep(rng.uniform(0, THINK_S[1]))  # agents do not all start at once
        n = i * 7
        while time.perf_counter() < deadline:
            await _timed(client, level, kind, questions[n % len(questions)])
            n += 1
            await asyncio.sleep(rng.uniform(*THINK_S))

    started = time.perf_counter()
    await asyncio.gather(*(one_agent(i) for i in range(agents)))
    level.seconds = time.perf_counter() - started
    return level


async def _timed(client: httpx.AsyncClient, level: Level, kind: str, question: str) -> None:
    """One request: its latency when answered 200, else its error counted."""
    path, body = _request(kind, question)
    t = time.perf_counter()
    try:
        response = await client.post(path, json=body)
        if response.status_code == 200:
            level.latencies_ms.append((time.perf_counter() - t) * 1000)
        else:
            key = f"http_{response.status_code}"
            level.errors[key] = level.errors.get(key, 0) + 1
    except httpx.HTTPError as exc:
        key = type(exc).__name__
        level.errors[key] = level.errors.get(key, 0) + 1


def synthetic_document(seed: int, articles: int) -> bytes:
    """A new text (never embedded before, so the embedding cache cannot shortcut the job)."""
    rng = random.Random(seed)
    words = (
        "le salarié l'employeur contrat durée travail congé indemnité délai notification autorité "
        "administration demande décision recours article alinéa dispositions présente loi décret "
        "arrêté ministre commune région établissement public service usager déclaration dossier "
        "pièce justificative registre inscription période essai préavis licenciement salaire"
    ).split()
    parts = [f"# Règlement d'essai de charge {seed}\n"]
    for k in range(1, articles + 1):
        sentence = " ".join(rng.choice(words) for _ in range(120))
        parts.append(f"\n## Article {k}\n\n{sentence.capitalize()} ({seed}-{k}).\n")
    return "".join(parts).encode()


@dataclass
class Uploader:
    """Keeps one ingestion job running: uploads a new document whenever the previous job ended."""

    client: httpx.AsyncClient
    owner_key: str
    jobs: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    busy_s: float = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        headers = {"Authorization": f"Bearer {self.owner_key}"}
        seed = int(time.time())
        while not stop.is_set():
            seed += 1
            files = {
                "files": (
                    f"essai-charge-{seed}.md",
                    synthetic_document(seed, UPLOAD_ARTICLES),
                    "text/markdown",
                )
            }
            t = time.perf_counter()
            try:
                r = await self.client.post(
                    "/v1/documents", data={"collection": UPLOAD_COLLECTION}, files=files, headers=headers
                )
                if r.status_code != 202:
                    self.failures.append(f"upload: HTTP {r.status_code} {r.text[:200]}")
                    await asyncio.sleep(1)
                    continue
                job = r.json()
                while job["state"] in ("queued", "running"):
                    await asyncio.sleep(0.5)
                    job = (await self.client.get(f"/v1/jobs/{job['id']}", headers=headers)).json()
            except httpx.HTTPError as exc:
                self.failures.append(f"upload: {type(exc).__name__}: {exc}")
                await asyncio.sleep(1)
                continue
            self.busy_s += time.perf_counter() - t
            totals = (job.get("result") or {}).get("totals", {})
            self.jobs.append(
                {"state": job["state"], "seconds": round(time.perf_counter() - t, 1), "totals": totals}
            )


async def drive(
    service: Service, questions: list[str], seconds: float, levels: tuple[int, ...]
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {service.keys['agent']}"}
    # idle connections are dropped before uvicorn's keep-alive timeout (5 s) closes them, so that
    # no request is sent on a connection the server is closing
    limits = httpx.Limits(
        max_connections=max(levels) + 8, max_keepalive_connections=max(levels) + 8, keepalive_expiry=2.0
    )
    timeout = httpx.Timeout(REQUEST_TIMEOUT_S)
    out: dict[str, Any] = {}
    async with httpx.AsyncClient(
        base_url=service.url, headers=headers, limits=limits, timeout=timeout
    ) as client:
        for kind in ("answer", "search"):  # warm-up: the first request of each kind pays lazy loads
            path, body = _request(kind, questions[0])
            (await client.post(path, json=body)).raise_for_status()

        async def sweep(phase: str) -> None:
            for kind in ("answer", "search"):
                rows = []
                for clients in levels:
                    level = (await run_level(client, kind, clients, questions, seconds)).as_dict()
                    level.update(memory_mb(service.process.pid))
                    rows.append(level)
                    print(phase, kind, json.dumps(level), flush=True)
                out.setdefault(phase, {})[kind] = rows

        await sweep("idle")
        paced = []
        for agents in PACED_AGENTS:
            level = (await run_paced(client, "answer", agents, questions, PACED_SECONDS)).as_dict()
            level.update(memory_mb(service.process.pid))
            paced.append(level)
            print("paced answer", json.dumps(level), flush=True)
        out["paced"] = {"answer": paced}
        async with httpx.AsyncClient(
            base_url=service.url, timeout=timeout, limits=httpx.Limits(keepalive_expiry=2.0)
        ) as jobs_client:
            uploader = Uploader(jobs_client, service.keys["owner"])
            stop = asyncio.Event()
            task = asyncio.create_task(uploader.run(stop))
            await asyncio.sleep(2)  # the first job has started
            await sweep("during_ingest")
            stop.set()
            await task
        out["ingest_jobs"] = {"jobs": uploader.jobs, "failures": uploader.failures[:10]}
    return out


def bench_load(data_dir: Path | None = None, seconds: float = SECONDS_PER_LEVEL) -> dict[str, Any]:
    """The whole load benchmark over a private copy of `data_dir` (default: the index the ingestion
    benchmark built, benchmarks/work/corpus)."""
    from assistant.settings import Settings

    source = data_dir or WORK / "corpus"
    if not (source / "registry.sqlite").exists():
        raise RuntimeError(f"{source} holds no index: run the ingestion benchmark first, or give --data-dir")
    corpus_dir = Settings().corpus_dir
    work = WORK / "load"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(source, work / "data")
    questions = dev_questions(corpus_dir)
    load_before = os.getloadavg()[0]  # the machine's other work, which the figures include
    t = time.perf_counter()
    service = start_service(work / "data", corpus_dir, work / "serve.log")
    ready_s = time.perf_counter() - t
    try:
        measured = asyncio.run(drive(service, questions, seconds, LEVELS))
        memory = memory_mb(service.process.pid)
    finally:
        service.stop()
    result: dict[str, Any] = {
        "questions": len(questions),
        "seconds_per_level": seconds,
        "levels": list(LEVELS),
        "service_ready_s": round(ready_s, 1),
        "server_peak_rss_mb": memory["peak_rss_mb"],
        "client": "asyncio + httpx, closed loop, same machine as the service",
        "rate_limit": "raised out of the way (DALIL_API_RATE_PER_S=100000)",
        "load_average_1min": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
        **measured,
    }
    result["target"] = target(result)
    return result


def target(result: dict[str, Any]) -> dict[str, Any]:
    """At 32 concurrent clients: 0 errors, and p95 at most 4× the single-client p95."""
    out: dict[str, Any] = {}
    for phase in ("idle", "during_ingest"):
        for kind, rows in (result.get(phase) or {}).items():
            by = {r["clients"]: r for r in rows}
            if 1 in by and 32 in by:
                ratio = by[32]["latency_ms"]["p95"] / max(by[1]["latency_ms"]["p95"], 0.1)
                out[f"{phase}.{kind}"] = {
                    "errors_at_32": by[32]["errors"],
                    "p95_ratio_32_vs_1": round(ratio, 1),
                    "ok": by[32]["errors"] == 0 and ratio <= 4,
                }
    single = {r["clients"]: r for r in (result.get("idle") or {}).get("answer", [])}.get(1)
    for r in (result.get("paced") or {}).get("answer", []):
        if single is not None and r["clients"] == 32:
            ratio = r["latency_ms"]["p95"] / max(single["latency_ms"]["p95"], 0.1)
            out["paced.answer"] = {
                "errors_at_32": r["errors"],
                "p95_ratio_32_vs_1": round(ratio, 1),
                "ok": r["errors"] == 0 and ratio <= 4,
            }
    return out


# ------------------------------------------------------------------------------ docs
def render_section(ld: dict[str, Any]) -> list[str]:
    """The docs/benchmarks.md section (rendered by benchmarks/report.py)."""
    out = [
        "## Load on the HTTP service (`benchmarks/results/load.json`)",
        "",
        "`dalil serve` over the real corpus index, driven over loopback by 1, 8, 32 and 64 concurrent clients",
        "(asyncio + httpx; each client sends its next request as soon as the previous one is answered),",
        f"{ld['seconds_per_level']} s per level, on the {ld['questions']} dev questions. The clients run on the",
        "same 2 cores as the service. Extractive answers: `POST /v1/chat/completions` with model",
        "`dalil-extractive`; search: `POST /v1/search`. During ingestion: documents uploaded one after the",
        f"other (`POST /v1/documents`, ~{UPLOAD_ARTICLES} new articles each), so that a job runs throughout.",
        f"Service ready in {ld['service_ready_s']} s; server peak RSS {ld['server_peak_rss_mb']} MB; the",
        "machine's 1-minute load average (other work on the same cores) was "
        f"{ld['load_average_1min']['before']} before the run and {ld['load_average_1min']['after']} after.",
        "",
        "| phase | request | clients | req/s | p50 ms | p95 ms | p99 ms | errors | RSS MB (peak) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    names = {"idle": "alone", "during_ingest": "during ingestion"}
    for phase in ("idle", "during_ingest"):
        for kind, rows in (ld.get(phase) or {}).items():
            for r in rows:
                lat = r["latency_ms"]
                out.append(
                    "| "
                    + " | ".join(
                        str(c)
                        for c in (
                            names[phase],
                            "extractive answer" if kind == "answer" else "search",
                            r["clients"],
                            r["throughput_rps"],
                            lat["p50"],
                            lat["p95"],
                            lat["p99"],
                            f"{r['errors']} ({r['error_rate']:.1%})",
                            f"{r['rss_mb']} ({r['peak_rss_mb']})",
                        )
                    )
                    + " |"
                )
    paced = (ld.get("paced") or {}).get("answer", [])
    if paced:
        out += [
            "",
            f"Agents at work: each of N agents asks, reads the answer ({THINK_S[0]:g}–{THINK_S[1]:g} s, drawn "
            f"uniformly), asks again; extractive answers, {PACED_SECONDS:g} s:",
            "",
            "| agents | req/s | p50 ms | p95 ms | p99 ms | errors |",
            "|---|---|---|---|---|---|",
        ]
        for r in paced:
            lat = r["latency_ms"]
            out.append(
                f"| {r['clients']} | {r['throughput_rps']} | {lat['p50']} | {lat['p95']} | {lat['p99']} "
                f"| {r['errors']} ({r['error_rate']:.1%}) |"
            )
    jobs = (ld.get("ingest_jobs") or {}).get("jobs", [])
    if jobs:
        chunks = sum(j["totals"].get("embedded", 0) for j in jobs)
        out += [
            "",
            f"Ingestion during the second phase: {len(jobs)} upload job(s) of "
            f"{', '.join(str(j['seconds']) + ' s' for j in jobs)}, {chunks} new chunks embedded, running throughout.",
        ]
    peaks = []
    for phase in ("idle", "during_ingest"):
        for kind, rows in (ld.get(phase) or {}).items():
            best = max(rows, key=lambda r: r["throughput_rps"])
            peaks.append(
                f"{'answers' if kind == 'answer' else 'search'} {names[phase]}: {best['throughput_rps']} req/s "
                f"({best['clients']} client{'s' if best['clients'] > 1 else ''})"
            )
    out += [
        "",
        "Reading: the service is one process on 2 cores shared with the clients. Highest throughput: "
        + "; ".join(peaks)
        + ". Beyond that, every added client waits in line (a closed loop: latency ≈ clients ÷ "
        "throughput), which is why p95 at 32 clients is far above 4× the single-client p95 while no "
        "request fails.",
    ]
    out.append("")
    return out


def target_rows(ld: dict[str, Any]) -> list[list[Any]]:
    """Rows of the Targets table: [target, measured, ok]."""
    rows: list[list[Any]] = []
    for name, t in (ld.get("target") or {}).items():
        phase, kind = name.split(".")
        label = f"load, {'extractive answers' if kind == 'answer' else 'search'}"
        label += " during ingestion" if phase == "during_ingest" else ""
        if phase == "paced":
            label = f"load, 32 agents with {THINK_S[0]:g}–{THINK_S[1]:g} s think time (extractive answers)"
        rows.append(
            [
                f"{label}: 0 errors and p95 ≤ 4× single-client p95 at 32 clients",
                f"{t['errors_at_32']} errors, p95 ×{t['p95_ratio_32_vs_1']}",
                t["ok"],
            ]
        )
    return rows


def main() -> None:
    from assistant.offline import enforce_offline_env

    enforce_offline_env()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, help="An indexed data directory (copied, never written)")
    parser.add_argument("--seconds", type=float, default=SECONDS_PER_LEVEL, help="Seconds per level")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    result = bench_load(args.data_dir, args.seconds)
    result["bench_seconds"] = round(time.perf_counter() - t, 1)
    result["machine"] = {"cpus": os.cpu_count()}
    (RESULTS / "load.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print("load", json.dumps(result["target"], ensure_ascii=False))


if __name__ == "__main__":
    main()
