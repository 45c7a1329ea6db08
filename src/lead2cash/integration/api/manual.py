"""``/api/v1/integration``: manual coupling and synchronization, and the synchronization errors page.

Record operations of one mapping live under ``/integration/mappings/{name}/…`` (set up and delete
couplings, match-based coupling, uncoupled CRM rows, create in CRM / in the ERP, synchronize now); the
*Coupled data synchronization errors* page under ``/integration/synchronization-errors``. Users who
maintain master data may call them; uncoupling a whole mapping needs an administrator. Work that
synchronizes records is queued as background jobs whose ids the answers carry. A CRM that cannot be
reached or refuses is a 502 naming what the CRM said.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from lead2cash.config import get_settings
from lead2cash.db import transaction
from lead2cash.erp.api.auth import ADMINS, MASTER_DATA_WRITERS, current_user, require
from lead2cash.erp.errors import ErpError
from lead2cash.integration.dataverse.errors import DataverseError
from lead2cash.integration.manual import coupling, matching, sync_errors, sync_now
from lead2cash.integration.manual import crm as crm_side
from lead2cash.integration.mapping.enums import Direction

TAGS = ["Integration: manual coupling and synchronization"]
Ids = list[uuid.UUID]


class CrmFailed(ErpError):
    status = 502
    code = "crm_error"


class CoupleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    erp_id: uuid.UUID
    crm_id: uuid.UUID | None = None
    crm_name: str | None = Field(None, max_length=250)
    sync: Literal["To CRM", "From CRM"] | None = None
    #: no CRM row to pick: create one from the ERP record and couple it (queued)
    create_new: bool = False


class UncoupleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    erp_ids: Ids = Field(default_factory=list, max_length=10_000)
    whole_mapping: bool = False


class MatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    erp_ids: Ids | None = Field(None, max_length=10_000)
    create_new: bool | None = None
    sync_after: bool | None = None


class ErpIdsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    erp_ids: Ids = Field(min_length=1, max_length=10_000)


class CrmIdsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    crm_ids: Ids = Field(min_length=1, max_length=10_000)


class SyncNowIn(ErpIdsIn):
    action: sync_now.Action
    overwrite_newer: bool = False


class CouplingIdsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    coupling_ids: list[int] = Field(min_length=1, max_length=10_000)
    direction: Literal["To CRM", "From CRM"] | None = None


class RetryAllIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mapping: str | None = None


def master_data_writer(request: Request) -> str:
    with transaction(request.app.state.sessions) as session:
        return require(MASTER_DATA_WRITERS)(current_user(request, session)).user_name


def administrator(request: Request) -> str:
    with transaction(request.app.state.sessions) as session:
        return require(ADMINS)(current_user(request, session)).user_name


def secret_key(request: Request) -> str:
    return getattr(request.app.state, "secret_key", None) or get_settings().resolved_secret_key()


@contextmanager
def crm_client(request: Request) -> Iterator[Any]:
    """A CRM client for the integration user; CRM failures become 502 answers."""
    try:
        with crm_side.open_crm(request.app.state.sessions, secret_key(request)) as crm:
            yield crm
    except DataverseError as exc:
        raise CrmFailed(f"The CRM refused or did not answer: {exc}", fix="Check the connection setup.") from exc


@contextmanager
def crm_session(request: Request) -> Iterator[tuple[Any, Any]]:
    """A CRM client and an ERP transaction (for operations that read a few CRM rows as they go)."""
    with crm_client(request) as crm, transaction(request.app.state.sessions) as session:
        yield crm, session


def _with_crm(request: Request, work: Callable[[Any, Any], Any]) -> Any:
    with crm_session(request) as (crm, session):
        return work(crm, session)


def router() -> APIRouter:
    api = APIRouter(prefix="/integration", tags=TAGS)
    m = "/mappings/{name}"

    @api.post(m + "/couplings", operation_id="set_up_coupling", summary="Couple a record to a CRM row (C1)")
    def couple(name: str, body: CoupleIn, request: Request, _: str = Depends(master_data_writer)) -> dict:
        sync = Direction(body.sync) if body.sync else None
        if body.create_new:
            return _with_crm(request, lambda crm, s: sync_now.create_in_crm(s, crm, name, [body.erp_id]).as_dict())
        return _with_crm(
            request,
            lambda crm, s: coupling.set_up_coupling(
                s, crm, name, body.erp_id, crm_id=body.crm_id, crm_name=body.crm_name, sync=sync
            ).as_dict(),
        )

    @api.post(m + "/couplings/delete", operation_id="delete_couplings", summary="Delete couplings, keep data (C4)")
    def uncouple(name: str, body: UncoupleIn, request: Request, _: str = Depends(master_data_writer)) -> dict:
        if body.whole_mapping:
            administrator(request)
        with transaction(request.app.state.sessions) as session:
            n = coupling.delete_couplings(session, name, erp_ids=body.erp_ids, whole_mapping=body.whole_mapping)
        return {"deleted": n}

    @api.post(m + "/match-based-coupling", operation_id="match_based_coupling", summary="Couple by matching (C5)")
    def match(name: str, body: MatchIn, request: Request, _: str = Depends(master_data_writer)) -> dict:
        options = {"erp_ids": body.erp_ids, "create_new": body.create_new, "sync_after": body.sync_after}
        with crm_client(request) as crm:
            return matching.match_in_steps(request.app.state.sessions, crm, name, **options).as_dict()

    @api.get(m + "/uncoupled-crm-rows", operation_id="uncoupled_crm_rows", summary="Uncoupled CRM rows (C2)")
    def uncoupled(
        name: str,
        request: Request,
        page_size: int = Query(50, ge=1, le=500),
        cursor: str | None = None,
        _: str = Depends(master_data_writer),
    ) -> dict:
        def work(crm, session):
            page = crm_side.uncoupled_rows(
                session, crm, crm_side.get_mapping(session, name), page_size=page_size, cursor=cursor or None
            )
            return {"value": page.rows, "next_cursor": page.next}

        return _with_crm(request, work)

    @api.post(m + "/create-in-crm", operation_id="create_in_crm", summary="Create and couple in the CRM (C2)")
    def create_crm(name: str, body: ErpIdsIn, request: Request, _: str = Depends(master_data_writer)) -> dict:
        return _with_crm(request, lambda crm, s: sync_now.create_in_crm(s, crm, name, body.erp_ids).as_dict())

    @api.post(m + "/create-in-erp", operation_id="create_in_erp", summary="Create and couple in the ERP (C2)")
    def create_erp(name: str, body: CrmIdsIn, request: Request, _: str = Depends(master_data_writer)) -> dict:
        with transaction(request.app.state.sessions) as session:
            return sync_now.create_in_erp(session, name, body.crm_ids).as_dict()

    @api.post(
        m + "/synchronize-now/assess",
        operation_id="assess_synchronize_now",
        summary="What synchronize now recommends per record (C3)",
    )
    def assess(name: str, body: ErpIdsIn, request: Request, _: str = Depends(master_data_writer)) -> dict:
        return _with_crm(
            request, lambda crm, s: {"records": [st.as_dict() for st in sync_now.assess(s, crm, name, body.erp_ids)]}
        )

    @api.post(m + "/synchronize-now", operation_id="synchronize_now", summary="Synchronize records now (C3)")
    def synchronize(name: str, body: SyncNowIn, request: Request, _: str = Depends(master_data_writer)) -> dict:
        return _with_crm(
            request,
            lambda crm, s: sync_now.synchronize_now(
                s, crm, name, body.erp_ids, body.action, overwrite_newer=body.overwrite_newer
            ).as_dict(),
        )

    e = "/synchronization-errors"

    @api.get(e, operation_id="list_synchronization_errors", summary="Skipped and failed couplings (R15)")
    def errors(
        request: Request,
        mapping: str | None = None,
        limit: int = Query(100, ge=1, le=500),
        after: str | None = Query(None, max_length=500, description="The 'next' of the previous page."),
        check_crm: bool = True,
        _: str = Depends(master_data_writer),
    ) -> dict:
        sessions = request.app.state.sessions
        with transaction(sessions) as session:
            page = sync_errors.list_errors(session, mapping=mapping, limit=limit, after=after)
        if not check_crm or not page["lines"]:
            return page
        with crm_client(request) as crm:  # the database transaction is over: no lock held while the CRM answers
            return sync_errors.mark_crm_existence(crm, page)

    @api.post(e + "/retry", operation_id="retry_couplings", summary="Retry at the next run")
    def retry(body: CouplingIdsIn, request: Request, _: str = Depends(master_data_writer)) -> dict:
        with transaction(request.app.state.sessions) as session:
            return {"retried": sync_errors.retry(session, body.coupling_ids)}

    @api.post(e + "/retry-all", operation_id="retry_all_couplings", summary="Retry every skipped coupling")
    def retry_all(request: Request, body: RetryAllIn | None = None, _: str = Depends(master_data_writer)) -> dict:
        with transaction(request.app.state.sessions) as session:
            return {"retried": sync_errors.retry_all(session, body.mapping if body else None)}

    @api.post(e + "/synchronize", operation_id="synchronize_couplings", summary="Un-skip and synchronize now")
    def sync_chosen(body: CouplingIdsIn, request: Request, _: str = Depends(master_data_writer)) -> dict:
        way = Direction(body.direction) if body.direction else None
        with transaction(request.app.state.sessions) as session:
            return sync_errors.synchronize(session, body.coupling_ids, way).as_dict()

    @api.post(e + "/delete-couplings", operation_id="delete_error_couplings", summary="Delete the couplings")
    def delete_chosen(body: CouplingIdsIn, request: Request, _: str = Depends(master_data_writer)) -> dict:
        with transaction(request.app.state.sessions) as session:
            return {"deleted": sync_errors.delete_couplings(session, body.coupling_ids)}

    @api.post(e + "/restore-records", operation_id="restore_records", summary="Recreate the missing side")
    def restore(body: CouplingIdsIn, request: Request, _: str = Depends(master_data_writer)) -> dict:
        return _with_crm(request, lambda crm, s: sync_errors.restore_records(s, crm, body.coupling_ids).as_dict())

    @api.post(e + "/delete-records", operation_id="delete_records", summary="Delete the surviving record")
    def delete_records(body: CouplingIdsIn, request: Request, _: str = Depends(administrator)) -> dict:
        return _with_crm(request, lambda crm, s: sync_errors.delete_records(s, crm, body.coupling_ids).as_dict())

    return api
