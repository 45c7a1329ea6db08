"""Benchmark: create N sales orders and post each (ship + invoice) in its own transaction; prints JSON.

    python bench/erp_posting.py --orders 10000 [--lines 3] [--url sqlite:///tmp/bench.db]

Reports documents/s for creating orders and for posting them (one posting = shipment + invoice + ledger
entries + archive version + outbox events, committed), plus what the ledgers hold afterwards.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from lead2cash.erp.database import open_database
from lead2cash.erp.model import CustLedgerEntry, Customer, Item, ItemLedgerEntry, SalesHeader
from lead2cash.erp.model.documents import SalesDocumentType
from lead2cash.erp.services import availability, documents, posting
from lead2cash.erp.services.documents import with_defaults
from lead2cash.erp.services.setup import bootstrap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=3)
    parser.add_argument("--url", default=None, help="database URL (default: a new SQLite file)")
    parser.add_argument("--batch", type=int, default=100, help="orders created per transaction")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    engine, sessions = open_database(url)
    with sessions() as s, s.begin():
        bootstrap(s)
        for n in range(10):
            s.add(with_defaults(Customer(no=f"BC{n}", name=f"Bench customer {n}")))
        for n in range(args.lines):
            s.add(
                with_defaults(
                    Item(no=f"BI{n}", description=f"Bench item {n}", unit_price=Decimal("9.99"), vat_pct=Decimal(25))
                )
            )
        s.flush()
        for n in range(args.lines):
            availability.post_adjustment(s, f"BI{n}", Decimal(10**9), posting_date=date(2026, 1, 1))

    lines = [{"no": f"BI{n}", "quantity": Decimal(n + 1)} for n in range(args.lines)]
    numbers: list[str] = []
    start = time.perf_counter()
    for first in range(0, args.orders, args.batch):
        with sessions() as s, s.begin():
            for n in range(first, min(first + args.batch, args.orders)):
                header = documents.create_document(
                    s, SalesDocumentType.ORDER, {"sell_to_customer_no": f"BC{n % 10}"}, [dict(x) for x in lines]
                )
                numbers.append(header.no)
    created = time.perf_counter() - start
    print(f"created {args.orders} orders in {created:.1f}s", file=sys.stderr, flush=True)

    start = time.perf_counter()
    for done, no in enumerate(numbers, 1):
        with sessions() as s, s.begin():
            posting.post(s, documents.get_document(s, SalesDocumentType.ORDER, no, for_update=True))
        if done % 1000 == 0:
            print(f"posted {done} in {time.perf_counter() - start:.1f}s", file=sys.stderr, flush=True)
    posted = time.perf_counter() - start

    with sessions() as s:
        result = {
            "benchmark": "erp_posting",
            "database": engine.dialect.name,
            "orders": args.orders,
            "lines_per_order": args.lines,
            "create_seconds": round(created, 3),
            "create_documents_per_second": round(args.orders / created, 1),
            "post_seconds": round(posted, 3),
            "post_documents_per_second": round(args.orders / posted, 1),
            "open_orders_left": s.scalar(select(func.count()).select_from(SalesHeader)),
            "customer_ledger_entries": s.scalar(select(func.count()).select_from(CustLedgerEntry)),
            "item_ledger_entries": s.scalar(select(func.count()).select_from(ItemLedgerEntry)),
        }
    engine.dispose()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
