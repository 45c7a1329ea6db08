"""ERP master data: bulk insert and keyset page-read throughput (rows/s) next to a raw SQLite floor.

The floor is the same number of rows with the same columns written and read with the bare ``sqlite3``
module (one executemany, one keyset SELECT per page) and no ERP bookkeeping; the ratio shows what row
versions, outbox events, type conversion and the ORM cost.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

from lead2cash.erp.database import open_database
from lead2cash.erp.demo import DemoSize, generate
from lead2cash.erp.model import Customer
from lead2cash.erp.services import records
from lead2cash.erp.services.records import RecordType


def erp_side(path: Path, customers: int, page: int) -> dict:
    _, sessions = open_database(f"sqlite:///{path}")
    start = time.perf_counter()
    with sessions() as session, session.begin():
        counts = generate(session, DemoSize(customers=customers, persons_per_customer=2, items=1000))
    insert_s = time.perf_counter() - start
    rows = sum(counts.values())
    rtype = RecordType(Customer)
    start, read, cursor = time.perf_counter(), 0, None
    with sessions() as session:
        while True:
            result = records.list_page(session, rtype, {}, limit=page, after=cursor)
            read += len(result.items)
            cursor = result.next_cursor
            if cursor is None:
                break
    read_s = time.perf_counter() - start
    return {
        "insert_rows": rows,
        "insert_rows_per_s": round(rows / insert_s),
        "read_rows": read,
        "read_rows_per_s": round(read / read_s),
    }


def floor(path: Path, rows: int, customers: int, page: int) -> dict:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE t (id TEXT PRIMARY KEY, no TEXT UNIQUE, name TEXT, city TEXT, email TEXT,"
        " credit INTEGER, row_version INTEGER)"
    )
    data = [
        (uuid.uuid4().hex, f"C{i:08d}", f"Customer {i}", "Oslo", f"c{i}@example.com", i * 100, i) for i in range(rows)
    ]
    start = time.perf_counter()
    with conn:
        conn.executemany("INSERT INTO t VALUES (?,?,?,?,?,?,?)", data)
    insert_s = time.perf_counter() - start
    start, read, last = time.perf_counter(), 0, ""
    while True:
        batch = conn.execute("SELECT * FROM t WHERE no > ? ORDER BY no LIMIT ?", (last, page)).fetchall()
        if not batch:
            break
        read += len(batch)
        last = batch[-1][1]
        if read >= customers:
            break
    read_s = time.perf_counter() - start
    conn.close()
    return {"insert_rows_per_s": round(rows / insert_s), "read_rows_per_s": round(read / read_s)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--page", type=int, default=1_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        erp = erp_side(Path(tmp) / "erp.db", args.customers, args.page)
        raw = floor(Path(tmp) / "raw.db", erp["insert_rows"], args.customers, args.page)
    print(
        json.dumps(
            {
                "bench": "erp_master",
                "customers": args.customers,
                "page_size": args.page,
                "erp": erp,
                "sqlite_floor": raw,
                "insert_ratio_to_floor": round(erp["insert_rows_per_s"] / raw["insert_rows_per_s"], 3),
                "read_ratio_to_floor": round(erp["read_rows_per_s"] / raw["read_rows_per_s"], 3),
            }
        )
    )


if __name__ == "__main__":
    main()
