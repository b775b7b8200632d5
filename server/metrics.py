"""Prometheus metrics of the service (`GET /metrics`, the standard prometheus-client registry).

Requests and latency are recorded per route template (`/v1/documents/{doc_id}/file`, never the
concrete path: one series per route, not per document); answers by mode and outcome; refusals and
model fallbacks separately; errors (5xx and exceptions) per route. Job metrics are fed by the job
runner (server/jobs.py).
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

REQUESTS = Counter("dalil_http_requests", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "dalil_http_request_duration_seconds",
    "Time to answer an HTTP request (a streamed answer: until its last event)",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
ERRORS = Counter("dalil_http_errors", "Requests that failed on the service's side (5xx)", ["route"])
ANSWERS = Counter("dalil_answers", "Answers given", ["mode", "grounding"])
REFUSALS = Counter("dalil_refusals", "Answers refused because the indexed texts do not cover the question")
FALLBACKS = Counter(
    "dalil_fallbacks",
    "Model answers replaced by the extractive answer (action: downgraded = failed the grounding "
    "check, fallback = the model failed)",
    ["action"],
)
ANSWER_LATENCY = Histogram(
    "dalil_answer_duration_seconds",
    "Time to produce an answer (retrieval and generation)",
    ["mode"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
READY = Gauge("dalil_ready", "1 once the index is open and the service answers")
RATE_LIMITED = Counter("dalil_rate_limited", "Requests refused by a key's rate limit (429)")

# background jobs (server/jobs.py): counted by the job runner
JOBS = Counter("dalil_jobs", "Background jobs by final state", ["kind", "state"])
JOBS_RUNNING = Gauge("dalil_jobs_running", "Background jobs running now")
JOB_FILES = Counter("dalil_job_files", "Files processed by background jobs, by outcome", ["outcome"])
JOB_PROGRESS = Gauge("dalil_job_progress_ratio", "Fraction of the running job's files done (0..1)")


def exposition() -> tuple[bytes, str]:
    """The body and content type of `GET /metrics`."""
    return generate_latest(), CONTENT_TYPE_LATEST
