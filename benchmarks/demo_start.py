"""How soon `dalil demo` answers: from the command's start on an empty data directory (the real
corpus, a cold embedding cache) until the first answer through the service that cites a text.

`dalil demo` starts `dalil serve`, submits the first ingestion as a job (text files first) and
starts the app; meanwhile a client asks one question about the corpus' smallest text (a CADA
article, `POST /v1/answers`, extractive) every half second, each as soon as the previous one is
answered, until an answer cites it. Recorded per run: when the service was ready, when the app
answered its health check, when the demo reported its first document indexed, when the first cited
answer came back (what the asker sees: the first question also waits for the query encoder to
load while the job embeds), and whether the demo then stopped cleanly on SIGINT.

Results: benchmarks/results/demo.json (`python -m benchmarks.run --only demo`), or alone:

    python -m benchmarks.demo_start [--runs 2]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from assistant.settings import Settings
from server.demo import free_port

QUESTION = "Les documents administratifs sont-ils communicables de plein droit à ceux qui les demandent ?"
TARGET_S = 60.0  # issue 15: a new user asks a first question within a minute of `make demo`
TIMEOUT_S = 600.0
_MARK = re.compile(r"^\[\s*([0-9.]+) s\] (.*)$")


def one_run(corpus_dir: Path) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="dalil-demo-bench-"))
    data = work / "data"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DALIL_API_URL", "DALIL_API_KEY", "DALIL_EMBED_CACHE")
    }
    env |= {"DALIL_DATA_DIR": str(data), "DALIL_CORPUS_DIR": str(corpus_dir)}
    cli = [sys.executable, "-m", "assistant.cli"]
    made = subprocess.run(
        [*cli, "keys", "add", "bench", "--role", "agent", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    key = json.loads(made.stdout)["key"]
    app_port, api_port = free_port(None), free_port(None)
    api = f"http://127.0.0.1:{api_port}"
    marks: dict[str, Any] = {"embedding_cache": "cold"}
    out = work / "demo.txt"
    t0 = time.monotonic()
    with out.open("w") as sink:
        demo = subprocess.Popen(
            [*cli, "demo", "--port", str(app_port), "--api-port", str(api_port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=120) as http:
            while time.monotonic() - t0 < TIMEOUT_S and "first_cited_answer_s" not in marks:
                with contextlib.suppress(httpx.HTTPError):
                    r = http.post(f"{api}/v1/answers", json={"question": QUESTION, "mode": "extractive"})
                    body = r.json() if r.status_code == 200 else {}
                    if body.get("citations") and not body.get("refused"):
                        marks["first_cited_answer_s"] = round(time.monotonic() - t0, 1)
                        marks["cited"] = body["citations"][0]["doc_id"]
                time.sleep(0.5)
    finally:
        demo.send_signal(signal.SIGINT)
        stopping = time.monotonic()
        try:
            marks["exit_code"] = demo.wait(120)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            marks["exit_code"] = demo.wait()
        marks["stop_s"] = round(time.monotonic() - stopping, 1)
    for line in out.read_text().splitlines():
        m = _MARK.match(line)
        if m and m.group(2).startswith("service ready"):
            marks["service_ready_s"] = float(m.group(1))
        elif m and m.group(2).startswith("Dalil on http"):  # the demo's own health check of the app
            marks["app_healthy_s"] = float(m.group(1))
        elif m and m.group(2).startswith("first document indexed"):
            marks["first_document_s"] = float(m.group(1))
    pids = {int(p) for p in re.findall(r"\(pid (\d+)\)", out.read_text())}
    marks["left_running"] = sorted(p for p in pids if _alive(p))
    shutil.rmtree(work, ignore_errors=True)
    return marks


def _alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def bench_demo(runs: int = 2) -> dict[str, Any]:
    settings = Settings()
    results = [one_run(settings.corpus_dir) for _ in range(runs)]
    answered = [r["first_cited_answer_s"] for r in results if "first_cited_answer_s" in r]
    median = round(statistics.median(answered), 1) if answered else None
    return {
        "question": QUESTION,
        "corpus": str(settings.corpus_dir),
        "runs": results,
        "first_cited_answer_s_median": median,
        "target_s": TARGET_S,
        "ok": median is not None and median < TARGET_S and len(answered) == runs,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


# ------------------------------------------------------------------------------ docs
def render_section(d: dict[str, Any]) -> list[str]:
    """The docs/benchmarks.md section (rendered by benchmarks/report.py)."""
    out = [
        "## First answer after `dalil demo` (`benchmarks/results/demo.json`)",
        "",
        "`dalil demo` on an empty data directory over the real corpus (cold embedding cache; the model files",
        "already in the operating system's page cache): the service starts, the first ingestion is a job",
        "that takes text files first, the app starts; a client asks about the smallest text",
        f"(\u201c{d['question']}\u201d) until an answer cites it. Seconds from the command's start; the",
        f"machine's 1-minute load average (other work on the same 2 cores) was {d['load_average_1min']}.",
        "",
        "| run | service ready | app healthy | first document indexed | first cited answer | stopped on SIGINT in |",
        "|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(d["runs"], 1):
        cells = [
            str(i),
            *(
                f"{r[k]} s" if k in r else "—"
                for k in ("service_ready_s", "app_healthy_s", "first_document_s")
            ),
            f"{r['first_cited_answer_s']} s" if "first_cited_answer_s" in r else "none",
            f"{r['stop_s']} s" + (f" (left running: {r['left_running']})" if r["left_running"] else ""),
        ]
        out.append("| " + " | ".join(cells) + " |")
    return [
        *out,
        "",
        "The first question waits for the query encoder to load while the job embeds the first",
        "documents: most of the time between the first document indexed and the first cited answer.",
        "",
    ]


def target_rows(d: dict[str, Any]) -> list[list[Any]]:
    """The Targets table's row (rendered by benchmarks/report.py)."""
    return [
        [
            f"first cited answer after `dalil demo` < {d['target_s']:.0f} s",
            f"{d['first_cited_answer_s_median']} s (median of {len(d['runs'])} runs)",
            d["ok"],
        ]
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    print(json.dumps(bench_demo(args.runs), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
