"""POSTEDSALESINV-INV and POSTEDSALESLINE-INV (R11, I1): posted sales invoices → CRM invoices with lines.

A CRM invoice is named after the posted invoice's number, belongs to the account coupled to the sell-to
customer (not coupled: the invoice fails naming the customer to synchronize first) and arrives *Billed*.
Its lines travel with it (M12: lines are synchronized with their header only): after a page of headers is
written, their lines are converted with the POSTEDSALESLINE-INV field rows and written in one bulk upsert,
under ids derived from the ERP lines, and coupled. Item and resource lines point at their coupled product
and the CRM unit of their unit of measure; other lines (G/L accounts, uncoupled products) become write-in
lines carrying the description.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lead2cash.erp.model import SalesInvoiceLine
from lead2cash.erp.model.documents import SalesLineType
from lead2cash.integration.couplings import by_erp_ids
from lead2cash.integration.engine.context import SyncContext
from lead2cash.integration.engine.record import new_coupling, new_crm_id
from lead2cash.integration.engine.transfer import Converter, TransferError, coupled_crm_ids
from lead2cash.integration.mapping.enums import Direction, SyncResult
from lead2cash.integration.mapping.model import TableMapping
from lead2cash.integration.rules import EntityRule, register
from lead2cash.integration.rules.uom import base_units

KEY = "invoice"
LINES = "POSTEDSALESLINE-INV"
BILLED = 4  # statuscode "Billed" (state Active)


class InvoiceRule(EntityRule):
    mappings = ("POSTEDSALESINV-INV",)

    def prepare_erp(self, ctx: SyncContext, session: Session, records: list[Any]) -> None:
        accounts = coupled_crm_ids(session, "customer", "no", {r.sell_to_customer_no for r in records})
        ctx.scratch[KEY] = {"accounts": accounts}

    def complete_crm(self, ctx: SyncContext, session: Session, record: Any, payload: dict, insert: bool) -> None:
        account = ctx.scratch.get(KEY, {}).get("accounts", {}).get(record.sell_to_customer_no)
        if account is None:
            raise TransferError(
                f"Posted sales invoice {record.no}: customer {record.sell_to_customer_no} is not coupled to an "
                f"account. Synchronize customer {record.sell_to_customer_no} first."
            )
        key, ref = ctx.bind("invoice", "customerid", "account", account)
        payload[key] = ref
        if insert:
            payload.setdefault("name", record.no)
            payload["statuscode"] = BILLED

    def after_crm_write(self, ctx: SyncContext, session: Session, written: list[tuple[Any, uuid.UUID, bool]]) -> None:
        mapping = session.get(TableMapping, LINES)
        headers = {record.no: invoice_id for record, invoice_id, _ in written}
        if mapping is None or not headers:
            return
        lines = list(session.scalars(select(SalesInvoiceLine).where(SalesInvoiceLine.document_no.in_(headers))))
        if not lines:
            return
        convert = Converter(ctx, session, mapping, Direction.TO_CRM).prepare_erp(lines)
        products = {
            **coupled_crm_ids(session, "item", "no", {ln.no for ln in lines if ln.type == SalesLineType.ITEM}),
            **coupled_crm_ids(session, "resource", "no", {ln.no for ln in lines if ln.type == SalesLineType.RESOURCE}),
        }
        units = base_units(ctx, session, {ln.unit_of_measure_code for ln in lines if ln.unit_of_measure_code})
        couplings = by_erp_ids(session, "sales_invoice_line", [ln.id for ln in lines])
        targets, done = [], []
        for line in lines:
            coupling = couplings.get(line.id)
            crm_id = coupling.crm_id if coupling else new_crm_id("sales_invoice_line", line.id)
            values = convert.erp_values(line)
            payload = convert.to_crm(line, values=values)
            payload["invoicedetailid"] = str(crm_id)
            payload["lineitemnumber"] = line.line_no
            key, ref = ctx.bind("invoicedetail", "invoiceid", "invoice", headers[line.document_no])
            payload[key] = ref
            product, unit = products.get(line.no), units.get(line.unit_of_measure_code)
            if product is not None and unit is not None:
                for attribute, target, target_id in (("productid", "product", product), ("uomid", "uom", unit)):
                    key, ref = ctx.bind("invoicedetail", attribute, target, target_id)
                    payload[key] = ref
            else:
                payload |= {"isproductoverridden": True, "productdescription": line.description or line.no}
            targets.append(payload)
            done.append((line, coupling, crm_id, values))
        ctx.client.upsert_multiple("invoicedetails", targets)
        for line, coupling, crm_id, values in done:
            if coupling is None:
                coupling = new_coupling(session, "sales_invoice_line", line.id, "invoicedetail", crm_id)
            coupling.erp_row_version, coupling.crm_version, coupling.synced_values = line.row_version, 0, values
            coupling.last_to_crm_result = SyncResult.SUCCESS


register(InvoiceRule())
