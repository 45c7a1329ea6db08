"""``/api/v1/integration/full-sync``: the full synchronization review page as an API (administrators).

``GET`` answers the lines with their dependencies, recommendation, job status, to-CRM / from-CRM pass
status and counts, refreshed from the job queue and the synchronization log at every call (a page polls
it). ``POST …/generate`` creates or refreshes the lines (``reset`` regenerates all of them), ``POST
…/start`` queues the lines not started yet in dependency order, and per line ``…/restart``,
``…/recommend-full`` and ``GET …/lines/{name}`` (the drill-down to its jobs and errors).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from lead2cash.db import transaction
from lead2cash.integration import fullsync
from lead2cash.integration.api.manual import administrator, crm_client

TAGS = ["Integration: full synchronization"]


class GenerateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reset: bool = False


class StartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    names: list[str] | None = Field(None, max_length=100)


def router() -> APIRouter:
    api = APIRouter(prefix="/integration/full-sync", tags=TAGS)

    @api.get("", operation_id="full_sync_review", summary="The review lines with their progress (F2, F4)")
    def review(request: Request, _: str = Depends(administrator)) -> dict:
        with transaction(request.app.state.sessions) as session:
            return {"lines": fullsync.progress(session)}

    @api.post("/generate", operation_id="full_sync_generate", summary="Create or refresh the review lines")
    def generate(request: Request, body: GenerateIn | None = None, _: str = Depends(administrator)) -> dict:
        sessions = request.app.state.sessions
        with crm_client(request) as crm:
            counts = fullsync.count_both_sides(sessions, crm)
        with transaction(sessions) as session:
            fullsync.generate(session, None, reset=bool(body and body.reset), counts=counts)
            return {"lines": fullsync.progress(session)}

    @api.post("/start", operation_id="full_sync_start", summary="Start the lines in dependency order (F1-F3)")
    def start(request: Request, body: StartIn | None = None, _: str = Depends(administrator)) -> dict:
        with transaction(request.app.state.sessions) as session:
            started = fullsync.start(session, body.names if body else None)
            return {"started": [line.name for line in started], "lines": fullsync.progress(session)}

    @api.get("/lines/{name}", operation_id="full_sync_line", summary="One line's jobs and errors")
    def line(name: str, request: Request, _: str = Depends(administrator)) -> dict:
        with transaction(request.app.state.sessions) as session:
            fullsync.refresh(session)
            return fullsync.detail(session, name)

    @api.post("/lines/{name}/restart", operation_id="full_sync_restart", summary="Run a line again")
    def restart(name: str, request: Request, _: str = Depends(administrator)) -> dict:
        with transaction(request.app.state.sessions) as session:
            fullsync.refresh(session)
            fullsync.restart(session, name)
            return fullsync.detail(session, name)

    @api.post("/lines/{name}/recommend-full", operation_id="full_sync_recommend_full",
              summary="Make a line not started a full synchronization")  # fmt: skip
    def recommend_full(name: str, request: Request, _: str = Depends(administrator)) -> dict:
        with transaction(request.app.state.sessions) as session:
            line = fullsync.recommend_full(session, name)
            return {"name": line.name, "recommendation": line.recommendation.value}

    return api
