"""Two workers posting the same order at the same moment: one posts it, the other finds nothing left to post."""

from __future__ import annotations

import threading
from decimal import Decimal as D

from sales_docs_support import unit_of_work
from sqlalchemy import func, select

from lead2cash.erp.errors import ErpError
from lead2cash.erp.model import CustLedgerEntry, ItemLedgerEntry
from lead2cash.erp.model.documents import SalesDocumentType
from lead2cash.erp.services import documents, posting

ORDER = SalesDocumentType.ORDER


def test_racing_posters_post_an_order_once(db):
    with unit_of_work(db) as s:
        no = documents.create_document(
            s, ORDER, {"sell_to_customer_no": "C1"}, [{"no": "I1", "quantity": D(3)}, {"no": "I2", "quantity": D(1)}]
        ).no
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def worker():
        start.wait()
        try:
            with unit_of_work(db) as s:
                result = posting.post(s, documents.get_document(s, ORDER, no, for_update=True))
            outcomes.append(f"posted {result.invoice_no}")
        except ErpError as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(o.split()[0] for o in outcomes) == ["NotFound", "posted"]
    with unit_of_work(db) as s:
        assert s.scalar(select(func.count()).select_from(CustLedgerEntry)) == 1
        sold = s.scalar(select(func.sum(ItemLedgerEntry.quantity)).where(ItemLedgerEntry.entry_type == "Sale"))
        assert sold == D(-4)
