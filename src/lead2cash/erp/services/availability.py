"""Item availability: inventory from the item ledger, and what is left after open sales orders.

Inventory is the sum of an item's ledger entry quantities; the outstanding quantity is what open and
released sales orders still have to ship; available = inventory - outstanding. Both are computed with one
grouped query per call, however many items are asked for. ``post_adjustment`` books stock in or out (the
item journal's positive/negative adjustment), the way inventory gets into the ledger in this ERP.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lead2cash.erp.errors import ValidationFailed
from lead2cash.erp.model import Item, ItemLedgerEntry, SalesHeader, SalesLine
from lead2cash.erp.model.documents import SalesDocumentType, SalesLineType
from lead2cash.erp.model.ledger import ItemLedgerEntryType
from lead2cash.erp.services import documents, records
from lead2cash.erp.services.ledgers import reserve_entry_nos

ZERO = Decimal(0)


@dataclass
class ItemAvailability:
    item_no: str
    description: str
    unit_of_measure_code: str | None
    inventory: Decimal
    outstanding_order_quantity: Decimal
    available_quantity: Decimal

    def as_dict(self) -> dict:
        return asdict(self)


def availability(session: Session, item_nos: list[str] | None = None) -> list[ItemAvailability]:
    """Availability of the given items (all items when ``None``), ordered by item no."""
    items = select(Item.no, Item.description, Item.base_unit_of_measure).order_by(Item.no)
    if item_nos is not None:
        items = items.where(Item.no.in_([n.upper() for n in item_nos]))
    rows = session.execute(items).all()
    wanted = [r[0] for r in rows]
    if not wanted:
        return []
    inventory = dict(
        session.execute(
            select(ItemLedgerEntry.item_no, func.sum(ItemLedgerEntry.quantity))
            .where(ItemLedgerEntry.item_no.in_(wanted))
            .group_by(ItemLedgerEntry.item_no)
        ).all()
    )
    outstanding = dict(
        session.execute(
            select(SalesLine.no, func.sum(SalesLine.outstanding_quantity))
            .join(SalesHeader, SalesHeader.id == SalesLine.header_id)
            .where(
                SalesHeader.document_type == SalesDocumentType.ORDER,
                SalesLine.type == SalesLineType.ITEM,
                SalesLine.no.in_(wanted),
            )
            .group_by(SalesLine.no)
        ).all()
    )
    result = []
    for no, description, unit in rows:
        stock = Decimal(inventory.get(no) or 0)
        out = Decimal(outstanding.get(no) or 0)
        result.append(ItemAvailability(no, description, unit, stock, out, stock - out))
    return result


def post_adjustment(
    session: Session, item_no: str, quantity: Decimal, *, posting_date: date | None = None, document_no: str = ""
) -> ItemLedgerEntry:
    """Book ``quantity`` of the item in (positive) or out (negative) of inventory."""
    item = records.get(session, Item, item_no)
    quantity = Decimal(quantity)
    if quantity == 0:
        raise ValidationFailed(
            f"Item {item.no}: an adjustment needs a quantity other than 0.",
            record=f"Item {item.no}",
            field="quantity",
            fix="Enter a positive quantity to add stock or a negative one to remove it.",
        )
    entry = ItemLedgerEntry(
        entry_no=reserve_entry_nos(session, "item_ledger_entry", 1),
        item_no=item.no,
        entry_type=ItemLedgerEntryType.POSITIVE_ADJMT if quantity > 0 else ItemLedgerEntryType.NEGATIVE_ADJMT,
        posting_date=posting_date or documents.today(),
        document_no=document_no,
        description=item.description,
        unit_of_measure_code=item.base_unit_of_measure,
        quantity=quantity,
        invoiced_quantity=quantity,
        sales_amount_actual=ZERO,
    )
    session.add(entry)
    session.flush()
    return entry
