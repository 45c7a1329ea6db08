"""CRM server throughput over real loopback HTTP, next to a raw SQLite floor; prints JSON.

Measured on a fresh org served by ``lead2cash crm serve`` in its own process (plain HTTP on loopback):

- ``create_multiple``: ``CreateMultiple`` with 1,000 accounts per request, rows/s; also the server process's
  CPU milliseconds and KiB written (database pages and log) per 1,000-row request over the first and the
  last tenth of the requests (flat cost per page: early and late should match however large the table
  grows; neither is skewed by other load on the machine as wall time is);
- ``upsert_multiple``: ``UpsertMultiple`` by alternate key (``accountnumber``), 1,000 targets per request,
  half of them existing, rows/s;
- ``paged_read``: every account through ``@odata.nextLink`` pages of 5,000, rows/s, and how much the
  server process's RSS grew while paging (flat memory: it should not grow with the row count);
- ``single_get``: ``GET accounts(<id>)`` from ``--concurrency`` threads, p50/p99 latency in ms.

The floor does the same with the bare ``sqlite3`` module on a table with the same columns (one
``executemany`` per 1,000 rows; keyset page reads; single-row reads by primary key), no HTTP, no
metadata, no versioning; ``ratio`` = server / floor throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

BATCH = 1000


def account(i: int, tag: str) -> dict:
    return {
        "@odata.type": "Microsoft.Dynamics.CRM.account",
        "name": f"Account {tag} {i}",
        "accountnumber": f"{tag}-{i:07d}",
        "telephone1": f"+1 555 {i:07d}",
        "address1_city": "Seattle",
        "creditlimit": i % 10000 + 0.25,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start_server(data_dir: Path) -> tuple[subprocess.Popen, str]:
    """``lead2cash crm serve`` in its own process (HTTP only), as a deployment would run it."""
    port = free_port()
    command = [str(Path(sys.executable).parent / "lead2cash"), "crm", "serve", "--port", str(port), "--no-https",
               "--log-level", "warning"]  # fmt: skip
    env = {**os.environ, "L2C_DATA_DIR": str(data_dir)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            httpx.get(f"{base}/api/data/v9.2/", timeout=1)
            return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


def cpu_ms(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def written_kb(pid: int) -> float:
    """Bytes the process has written so far (database pages and log), in KiB."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1]) / 1024
    return 0.0


def token(base: str, form: dict) -> str:
    form = {**form, "scope": f"{base}/.default"}
    response = httpx.post(f"{base}/bench/oauth2/v2.0/token", data=form)
    response.raise_for_status()
    return response.json()["access_token"]


def server_side(data_dir: Path, rows: int, concurrency: int, gets: int) -> dict:
    process, base = start_server(data_dir)
    try:
        creds = json.loads((data_dir / "crm-credentials.json").read_text())
        admin = token(base, {"grant_type": "password", "username": creds["admin_username"],
                             "password": creds["admin_password"]})  # fmt: skip
        key = {"SchemaName": "accountnumber_key", "KeyAttributes": ["accountnumber"]}
        httpx.post(f"{base}/api/data/v9.2/EntityDefinitions(LogicalName='account')/Keys", json=key,
                   headers={"Authorization": f"Bearer {admin}"}).raise_for_status()  # fmt: skip
        integration = token(base, {"grant_type": "client_credentials", "client_id": creds["integration_client_id"],
                                   "client_secret": creds["integration_client_secret"]})  # fmt: skip
        headers = {"Authorization": f"Bearer {integration}"}
        api = f"{base}/api/data/v9.2"
        out: dict = {}
        with httpx.Client(headers=headers, timeout=300) as http:
            start = time.perf_counter()
            requests = range(0, rows, BATCH)
            tenth = max(1, len(requests) // 10)
            cpu: list[float] = []
            written: list[float] = []
            for first in requests:
                targets = [account(i, "C") for i in range(first, min(first + BATCH, rows))]
                before, before_kb = cpu_ms(process.pid), written_kb(process.pid)
                r = http.post(f"{api}/accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": targets})
                r.raise_for_status()
                cpu.append(cpu_ms(process.pid) - before)
                written.append(written_kb(process.pid) - before_kb)
            elapsed = time.perf_counter() - start
            out["create_multiple"] = {
                "rows": rows,
                "seconds": round(elapsed, 3),
                "rows_per_s": round(rows / elapsed),
                "server_cpu_ms_per_request_first_tenth": round(statistics.mean(cpu[:tenth]), 1),
                "server_cpu_ms_per_request_last_tenth": round(statistics.mean(cpu[-tenth:]), 1),
                "server_written_kb_per_request_first_tenth": round(statistics.mean(written[:tenth])),
                "server_written_kb_per_request_last_tenth": round(statistics.mean(written[-tenth:])),
            }

            start = time.perf_counter()
            upserted = 0
            for first in range(rows // 2, rows + rows // 2, BATCH):
                targets = []
                for i in range(first, min(first + BATCH, rows + rows // 2)):
                    body = account(i, "C")
                    body["@odata.id"] = f"accounts(accountnumber='{body.pop('accountnumber')}')"
                    targets.append(body)
                r = http.post(f"{api}/accounts/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": targets})
                r.raise_for_status()
                upserted += len(targets)
            elapsed = time.perf_counter() - start
            out["upsert_multiple"] = {"rows": upserted, "seconds": round(elapsed, 3),
                                      "rows_per_s": round(upserted / elapsed)}  # fmt: skip

            rss_before, rss_peak = rss_mb(process.pid), 0.0
            start = time.perf_counter()
            url, seen, ids = f"{api}/accounts?$select=name,accountnumber,creditlimit", 0, []
            while url:
                page = http.get(url, headers={"Prefer": "odata.maxpagesize=5000"}).json()
                seen += len(page["value"])
                if len(ids) < 1000:
                    ids += [r["accountid"] for r in page["value"][:1000]]
                url = page.get("@odata.nextLink")
                rss_peak = max(rss_peak, rss_mb(process.pid))
            elapsed = time.perf_counter() - start
            out["paged_read"] = {"rows": seen, "seconds": round(elapsed, 3), "rows_per_s": round(seen / elapsed),
                                 "server_rss_growth_mb": round(rss_peak - rss_before, 1)}  # fmt: skip
        out["single_get"] = latency(
            lambda c, i: c.get(f"{api}/accounts({ids[i % len(ids)]})?$select=name").raise_for_status(),
            concurrency, gets, headers,
        )  # fmt: skip
        return out
    finally:
        process.terminate()
        process.wait(30)


def latency(call, concurrency: int, total: int, headers: dict) -> dict:
    samples: list[float] = []
    lock = threading.Lock()
    local = threading.local()

    def one(i: int) -> None:
        if not hasattr(local, "client"):
            local.client = httpx.Client(headers=headers, timeout=60)
        t = time.perf_counter()
        call(local.client, i)
        with lock:
            samples.append((time.perf_counter() - t) * 1000)

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(total)))
    elapsed = time.perf_counter() - start
    samples.sort()
    return {
        "requests": total,
        "concurrency": concurrency,
        "p50_ms": round(statistics.median(samples), 3),
        "p99_ms": round(samples[int(len(samples) * 0.99) - 1], 3),
        "requests_per_s": round(total / elapsed),
    }


def floor_side(path: Path, rows: int, concurrency: int, gets: int) -> dict:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE account (accountid TEXT PRIMARY KEY, name TEXT, accountnumber TEXT UNIQUE, "
                 "telephone1 TEXT, address1_city TEXT, creditlimit INTEGER, versionnumber INTEGER)")  # fmt: skip
    sql = "INSERT INTO account VALUES (?,?,?,?,?,?,?)"
    out: dict = {}
    start = time.perf_counter()
    ids = []
    for first in range(0, rows, BATCH):
        batch = []
        for i in range(first, min(first + BATCH, rows)):
            a = account(i, "C")
            ids.append(str(uuid.uuid4()))
            batch.append((ids[-1], a["name"], a["accountnumber"], a["telephone1"], a["address1_city"], i, i))
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, batch)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    out["create_multiple"] = {"rows": rows, "rows_per_s": round(rows / elapsed)}
    start = time.perf_counter()
    upserted = 0
    for first in range(rows // 2, rows + rows // 2, BATCH):
        batch = [(str(uuid.uuid4()), f"Account C {i}", f"C-{i:07d}", "", "Seattle", i, i)
                 for i in range(first, min(first + BATCH, rows + rows // 2))]  # fmt: skip
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql + " ON CONFLICT(accountnumber) DO UPDATE SET name=excluded.name", batch)
        conn.execute("COMMIT")
        upserted += len(batch)
    elapsed = time.perf_counter() - start
    out["upsert_multiple"] = {"rows": upserted, "rows_per_s": round(upserted / elapsed)}
    start = time.perf_counter()
    last, seen = "", 0
    while True:
        page = conn.execute(
            "SELECT accountid, name, accountnumber, creditlimit FROM account WHERE accountid > ? "
            "ORDER BY accountid LIMIT 5000", (last,)
        ).fetchall()  # fmt: skip
        if not page:
            break
        seen += len(page)
        last = page[-1][0]
    elapsed = time.perf_counter() - start
    out["paged_read"] = {"rows": seen, "rows_per_s": round(seen / elapsed)}
    lock = threading.Lock()
    out["single_get"] = latency(
        lambda _c, i: _locked(lock, conn, ids[i % len(ids)]), concurrency, gets, {}
    )  # fmt: skip
    conn.close()
    return out


def _locked(lock: threading.Lock, conn: sqlite3.Connection, id_: str) -> None:
    with lock:
        conn.execute("SELECT name FROM account WHERE accountid = ?", (id_,)).fetchone()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--gets", type=int, default=2_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = server_side(Path(tmp) / "server", args.rows, args.concurrency, args.gets)
        floor = floor_side(Path(tmp) / "floor.db", args.rows, args.concurrency, args.gets)
    result = {"benchmark": "crm_bulk", "rows": args.rows, "server": server, "floor": floor, "ratio": {}}
    for name in ("create_multiple", "upsert_multiple", "paged_read"):
        result["ratio"][name] = round(server[name]["rows_per_s"] / floor[name]["rows_per_s"], 4)
    result["ratio"]["single_get_p50"] = round(server["single_get"]["p50_ms"] / floor["single_get"]["p50_ms"], 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
