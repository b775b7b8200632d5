"""JSON logs, one object a line on standard error, each request's with its request id.

`log_config()` is uvicorn's logging configuration (its own loggers included), `RequestContext`
carries the id of the request being answered to every log line written while answering it
(a contextvar: threads started by the request's handler inherit it through anyio)."""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
from typing import Any

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("dalil_request_id", default=None)
LOGGER = "dalil.server"

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            out["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def log_config(level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` for uvicorn and the service: JSON lines on standard error."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"json": handler},
        "loggers": {
            "uvicorn": {"handlers": ["json"], "level": level, "propagate": False},
            "uvicorn.error": {"handlers": ["json"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": ["json"], "level": "WARNING", "propagate": False},
            LOGGER: {"handlers": ["json"], "level": level, "propagate": False},
        },
        # the library's own warnings (a damaged cache moved aside, a slow store) as JSON too
        "root": {"handlers": ["json"], "level": "WARNING"},
    }


def logger() -> logging.Logger:
    return logging.getLogger(LOGGER)
