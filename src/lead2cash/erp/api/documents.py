"""REST endpoints for sales quotes and orders, posting, payments, ledgers, statistics and availability.

Documents are addressed by their no. under ``/sales-quotes`` and ``/sales-orders``; actions (release,
reopen, post, make order …) are ``POST`` sub-resources. Every request is one transaction: a failed action
writes nothing. Amounts are exact decimals, sent as JSON strings so no float ever touches them.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from lead2cash.erp.api.auth import ALL_ROLES, MASTER_DATA_WRITERS, db_session, require
from lead2cash.erp.api.crud import ERROR_RESPONSES, etag, parse_if_match
from lead2cash.erp.api.document_schemas import (
    AdjustmentIn,
    ApplyPaymentIn,
    PaymentIn,
    PostIn,
    PrepaymentIn,
    SalesHeaderIn,
    SalesHeaderPatch,
    SalesLineIn,
    SalesLinePatch,
)
from lead2cash.erp.errors import NotFound, PreconditionFailed
from lead2cash.erp.model import (
    CustLedgerEntry,
    ErpUser,
    ItemLedgerEntry,
    SalesHeader,
    SalesInvoiceHeader,
    SalesInvoiceLine,
    SalesShipmentHeader,
    SalesShipmentLine,
)
from lead2cash.erp.model.documents import SalesDocumentStatus, SalesDocumentType
from lead2cash.erp.services import (
    archive,
    availability,
    documents,
    lines,
    payments,
    posting,
    release,
    statistics,
)

PATHS = {"sales-quotes": SalesDocumentType.QUOTE, "sales-orders": SalesDocumentType.ORDER}


def _doc(header: SalesHeader) -> dict[str, Any]:
    body = archive.snapshot(header)
    body["row_version"] = header.row_version
    body["lines"] = [archive.snapshot(line) for line in header.lines]
    return body


def _posted(session: Session, header_model, line_model, no: str) -> dict[str, Any]:
    header = session.scalars(select(header_model).where(header_model.no == no.upper())).first()
    if header is None:
        raise NotFound(f"{header_model.label()} {no} does not exist.", record=f"{header_model.label()} {no}")
    body = archive.snapshot(header)
    lines = session.scalars(select(line_model).where(line_model.document_no == header.no).order_by(line_model.line_no))
    body["lines"] = [archive.snapshot(x) for x in lines]
    return body


def _page(items: list[dict[str, Any]], limit: int, key: str) -> dict[str, Any]:
    """A page in key order; ``next`` is the value to pass as ``<key>_gt`` for the next page (None at the end)."""
    return {"items": items, "next": items[-1][key] if len(items) == limit else None}


def _payment_result(result: payments.PaymentResult) -> dict[str, Any]:
    return {
        "entry": archive.snapshot(result.entry),
        "applications": [{k: archive._json(v) for k, v in vars(a).items()} for a in result.applications],
    }


def router() -> APIRouter:
    api = APIRouter(responses=ERROR_RESPONSES)
    readers, writers = require(ALL_ROLES), require(MASTER_DATA_WRITERS)
    db = Depends(db_session)

    @api.post("/sales-quotes/{no}/make-order", tags=["Sales quotes"], status_code=201)
    def make_order(no: str, session: Session = db, user: ErpUser = Depends(writers)):
        quote = documents.get_document(session, SalesDocumentType.QUOTE, no, for_update=True)
        return _doc(release.make_order(session, quote, user=user.user_name))

    @api.post("/sales-orders/{no}/post", tags=["Sales orders"])
    def post_order(no: str, body: PostIn, session: Session = db, user: ErpUser = Depends(writers)):
        header = documents.get_document(session, SalesDocumentType.ORDER, no, for_update=True)
        for wanted in body.lines:
            line = lines.get_line(header, wanted.line_no)
            changes = wanted.model_dump(exclude_unset=True, exclude={"line_no"})
            lines.update_line(session, header, line, {k: v for k, v in changes.items() if v is not None})
        result = posting.post(
            session, header, ship=body.ship, invoice=body.invoice, posting_date=body.posting_date, user=user.user_name
        )
        return {
            "shipment_no": result.shipment_no,
            "invoice_no": result.invoice_no,
            "order_deleted": result.order_deleted,
            "order": None if result.order_deleted else _doc(header),
        }

    @api.post("/sales-orders/{no}/prepayment-invoice", tags=["Sales orders"], status_code=201)
    def prepayment(no: str, body: PrepaymentIn, session: Session = db, _=Depends(writers)):
        header = documents.get_document(session, SalesDocumentType.ORDER, no, for_update=True)
        invoice_no = prepayment.post_prepayment_invoice(session, header, posting_date=body.posting_date)
        return {"invoice_no": invoice_no, "order": _doc(header)}

    @api.get("/posted-sales-invoices", tags=["Posted documents"])
    def list_invoices(
        order_no: str | None = None,
        customer_no: str | None = None,
        row_version_gt: int = Query(0, ge=0, le=2**62),
        limit: int = Query(100, ge=1, le=1000),
        session: Session = db,
        _=Depends(readers),
    ):
        stmt = select(SalesInvoiceHeader).where(SalesInvoiceHeader.row_version > row_version_gt)
        if order_no:
            stmt = stmt.where(SalesInvoiceHeader.order_no == order_no.upper())
        if customer_no:
            stmt = stmt.where(SalesInvoiceHeader.sell_to_customer_no == customer_no.upper())
        rows = session.scalars(stmt.order_by(SalesInvoiceHeader.row_version).limit(limit))
        return _page([archive.snapshot(x) | {"row_version": x.row_version} for x in rows], limit, "row_version")

    @api.get("/posted-sales-invoices/{no}", tags=["Posted documents"])
    def read_invoice(no: str, session: Session = db, _=Depends(readers)):
        return _posted(session, SalesInvoiceHeader, SalesInvoiceLine, no)

    @api.get("/posted-sales-shipments/{no}", tags=["Posted documents"])
    def read_shipment(no: str, session: Session = db, _=Depends(readers)):
        return _posted(session, SalesShipmentHeader, SalesShipmentLine, no)

    @api.get("/customer-ledger-entries", tags=["Ledgers"])
    def customer_entries(
        customer_no: str | None = None,
        open: bool | None = None,
        document_no: str | None = None,
        entry_no_gt: int = Query(0, ge=0, le=2**62),
        limit: int = Query(100, ge=1, le=1000),
        session: Session = db,
        _=Depends(readers),
    ):
        stmt = select(CustLedgerEntry).where(CustLedgerEntry.entry_no > entry_no_gt)
        if customer_no:
            stmt = stmt.where(CustLedgerEntry.customer_no == customer_no.upper())
        if open is not None:
            stmt = stmt.where(CustLedgerEntry.open.is_(open))
        if document_no:
            stmt = stmt.where(CustLedgerEntry.document_no == document_no.upper())
        rows = session.scalars(stmt.order_by(CustLedgerEntry.entry_no).limit(limit))
        return _page([archive.snapshot(x) for x in rows], limit, "entry_no")

    @api.get("/item-ledger-entries", tags=["Ledgers"])
    def item_entries(
        item_no: str | None = None,
        entry_no_gt: int = Query(0, ge=0, le=2**62),
        limit: int = Query(100, ge=1, le=1000),
        session: Session = db,
        _=Depends(readers),
    ):
        stmt = select(ItemLedgerEntry).where(ItemLedgerEntry.entry_no > entry_no_gt)
        if item_no:
            stmt = stmt.where(ItemLedgerEntry.item_no == item_no.upper())
        rows = session.scalars(stmt.order_by(ItemLedgerEntry.entry_no).limit(limit))
        return _page([archive.snapshot(x) for x in rows], limit, "entry_no")

    @api.post("/payments", tags=["Payments"], status_code=201)
    def post_payment(body: PaymentIn, session: Session = db, _=Depends(writers)):
        result = payments.post_payment(
            session,
            customer_no=body.customer_no.upper(),
            amount=body.amount,
            applies_to=[x.model_dump() for x in body.applies_to],
            posting_date=body.posting_date,
            currency_code=body.currency_code,
            document_no=body.document_no,
            external_document_no=body.external_document_no,
            description=body.description,
        )
        return _payment_result(result)

    @api.post("/customer-ledger-entries/{entry_no}/apply", tags=["Payments"])
    def apply_payment(entry_no: int, body: ApplyPaymentIn, session: Session = db, _=Depends(writers)):
        result = payments.apply_payment(
            session, entry_no, [x.model_dump() for x in body.applies_to], posting_date=body.posting_date
        )
        return _payment_result(result)

    @api.get("/customers/{no}/statistics", tags=["Statistics"])
    def customer_statistics(no: str, as_of: date | None = None, session: Session = db, _=Depends(readers)):
        stats = statistics.customer_statistics(session, no, as_of=as_of)
        return {k: archive._json(v) for k, v in stats.as_dict().items()}

    @api.get("/item-availability", tags=["Availability"])
    def item_availability(
        item_no: list[str] | None = Query(None, max_length=1000), session: Session = db, _=Depends(readers)
    ):
        rows = availability.availability(session, item_no)
        return {"items": [{k: archive._json(v) for k, v in r.as_dict().items()} for r in rows]}

    @api.post("/item-adjustments", tags=["Availability"], status_code=201)
    def adjust(body: AdjustmentIn, session: Session = db, _=Depends(writers)):
        entry = availability.post_adjustment(
            session, body.item_no, body.quantity, posting_date=body.posting_date, document_no=body.document_no
        )
        return archive.snapshot(entry)

    # after the specific actions above, so ``/{no}/{action}`` does not shadow them
    for path, kind in PATHS.items():
        _document_routes(api, path, kind, readers, writers, db)
    return api


def _document_routes(api: APIRouter, path: str, kind: SalesDocumentType, readers, writers, db) -> None:
    tag = [f"Sales {str(kind).lower()}s"]
    op = path.replace("-", "_")

    @api.get(f"/{path}", tags=tag, operation_id=f"list_{op}")
    def list_documents(
        customer_no: str | None = None,
        status: SalesDocumentStatus | None = None,
        your_reference: str | None = None,
        row_version_gt: int = Query(0, ge=0, le=2**62),
        limit: int = Query(100, ge=1, le=1000),
        session: Session = db,
        _=Depends(readers),
    ):
        stmt = select(SalesHeader).where(SalesHeader.document_type == kind, SalesHeader.row_version > row_version_gt)
        if customer_no:
            stmt = stmt.where(SalesHeader.sell_to_customer_no == customer_no.upper())
        if status:
            stmt = stmt.where(SalesHeader.status == status)
        if your_reference:
            stmt = stmt.where(SalesHeader.your_reference == your_reference)
        rows = session.scalars(stmt.order_by(SalesHeader.row_version).limit(limit))
        return _page([_doc(x) for x in rows], limit, "row_version")

    @api.post(f"/{path}", tags=tag, status_code=201, operation_id=f"create_{op}")
    def create(body: SalesHeaderIn, session: Session = db, _=Depends(writers)):
        data = body.model_dump(exclude_unset=True, exclude={"lines"})
        data["sell_to_customer_no"] = body.sell_to_customer_no.upper()
        line_data = [x.model_dump(exclude_unset=True) for x in body.lines]
        return _doc(documents.create_document(session, kind, data, line_data))

    @api.get(f"/{path}/{{no}}", tags=tag, operation_id=f"get_{op}")
    def read(no: str, response: Response, session: Session = db, _=Depends(readers)):
        header = documents.get_document(session, kind, no)
        response.headers["ETag"] = etag(header.row_version)
        return _doc(header)

    @api.patch(f"/{path}/{{no}}", tags=tag, operation_id=f"update_{op}")
    def update(
        no: str,
        body: SalesHeaderPatch,
        response: Response,
        if_match: str | None = Header(None),
        session: Session = db,
        _=Depends(writers),
    ):
        header = documents.get_document(session, kind, no, for_update=True)
        expected = parse_if_match(if_match)
        if expected is not None and expected != header.row_version:
            raise PreconditionFailed(
                f"{documents.describe(header)} was changed by someone else (version {header.row_version}).",
                record=documents.describe(header),
                fix="Read it again and reapply your change.",
            )
        changes = body.model_dump(exclude_unset=True)
        if changes.get("sell_to_customer_no"):
            changes["sell_to_customer_no"] = changes["sell_to_customer_no"].upper()
        documents.update_header(session, header, changes)
        session.flush()
        response.headers["ETag"] = etag(header.row_version)
        return _doc(header)

    @api.delete(f"/{path}/{{no}}", tags=tag, status_code=204, operation_id=f"delete_{op}")
    def delete(no: str, session: Session = db, _=Depends(writers)):
        documents.delete_document(session, documents.get_document(session, kind, no, for_update=True))

    @api.post(f"/{path}/{{no}}/lines", tags=tag, status_code=201, operation_id=f"add_{op}_line")
    def add_line(no: str, body: SalesLineIn, session: Session = db, _=Depends(writers)):
        header = documents.get_document(session, kind, no, for_update=True)
        lines.add_line(session, header, body.model_dump(exclude_unset=True))
        return _doc(header)

    @api.patch(f"/{path}/{{no}}/lines/{{line_no}}", tags=tag, operation_id=f"update_{op}_line")
    def update_line(no: str, line_no: int, body: SalesLinePatch, session: Session = db, _=Depends(writers)):
        header = documents.get_document(session, kind, no, for_update=True)
        changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
        lines.update_line(session, header, lines.get_line(header, line_no), changes)
        return _doc(header)

    @api.delete(f"/{path}/{{no}}/lines/{{line_no}}", tags=tag, operation_id=f"delete_{op}_line")
    def delete_line(no: str, line_no: int, session: Session = db, _=Depends(writers)):
        header = documents.get_document(session, kind, no, for_update=True)
        lines.delete_line(session, header, lines.get_line(header, line_no))
        return _doc(header)

    @api.post(f"/{path}/{{no}}/{{action}}", tags=tag, operation_id=f"{op}_action")
    def action(
        no: str,
        action: Literal["release", "reopen", "archive"],
        session: Session = db,
        user: ErpUser = Depends(writers),
    ):
        header = documents.get_document(session, kind, no, for_update=True)
        if action == "release":
            release.release(session, header)
        elif action == "reopen":
            release.reopen(session, header)
        else:
            archive.archive_document(session, header, reason="Archived by user", user=user.user_name)
        return _doc(header)

    @api.get(f"/{path}/{{no}}/versions", tags=tag, operation_id=f"{op}_versions")
    def versions(no: str, session: Session = db, _=Depends(readers)):
        rows = archive.versions(session, kind, no)
        return {"items": [archive.snapshot(v) for v in rows]}
