"""A writer for the concurrency tests: many small ERP transactions, in a thread or in a separate process.

Run as a script (``python erp_writer.py URL PREFIX COUNT GO_FILE``) it prints ``ready``, waits until
``GO_FILE`` exists so that every writer starts at the same moment, then prints one JSON line with the
``[code, row_version]`` of each record it created, in commit order.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from lead2cash.erp.model import Salesperson
from lead2cash.erp.services import records
from lead2cash.erp.services.records import RecordType

SALESPEOPLE = RecordType(Salesperson)
SHARED = "SHARED"


def write(sessions: sessionmaker[Session], prefix: str, count: int) -> list[tuple[str, int]]:
    """``count`` transactions, each creating one salesperson; every third one also changes the shared one."""
    committed: list[tuple[str, int]] = []
    for i in range(count):
        code = f"{prefix}{i:04d}"
        with sessions() as session, session.begin():
            if i % 3 == 0:
                shared = records.get(session, Salesperson, SHARED, for_update=True)
                records.update(session, shared, {"name": f"{prefix} {i}"})
            created = records.create(session, SALESPEOPLE, {"code": code})
            version = created.row_version
        committed.append((code, version))
    return committed


def main(url: str, prefix: str, count: int, go_file: str) -> None:
    from lead2cash.erp.database import open_database

    engine, sessions = open_database(url, migrate=False)
    print("ready", flush=True)
    go = Path(go_file)
    while not go.exists():  # start barrier, not a timing assumption
        time.sleep(0.002)
    committed = write(sessions, prefix, count)
    engine.dispose()
    print(json.dumps(committed), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
