"""The audit trail over HTTP: `GET /v1/audit`, the latest answers' trace (`dalil audit --json`),
for owner and evaluator keys only (pseudonymised questions, sources, model, index version)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from assistant.service import Dalil
from server.auth import Caller, Role, require

router = APIRouter(tags=["audit"])


@router.get("/v1/audit")
def audit_entries(
    request: Request,
    caller: Annotated[Caller, Depends(require(Role.OWNER, Role.EVALUATOR))],
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> list[dict[str, Any]]:
    """The latest `limit` answers recorded, newest first."""
    dalil: Dalil | None = getattr(request.app.state, "dalil", None)
    if dalil is None:
        raise HTTPException(503, "the service is not ready yet: retry once /readyz answers ready")
    return dalil.audit.answers(limit)
