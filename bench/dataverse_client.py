"""The integration's Dataverse client against the local CRM server over HTTPS on loopback.

Two measurements, one JSON object:

- ``throttled``: the client reads as fast as its concurrency allows against the scaled-down
  service-protection limiter (same rate as Dataverse's 6,000 requests / 5 minutes, shorter window).
  Strategies: ``retry_after`` (send until refused, wait as ``Retry-After`` says, all requests together)
  and ``paced`` (the client's ``max_rate`` at ``--pace`` of the allowed rate). Reported: steady-state
  throughput as a share of the allowed rate (after the first window, whose initial burst the sliding
  window allows) and the share of attempts answered 429. Goal: >= 90 % and < 1 %.
- ``bulk``: ``CreateMultiple`` of ``--rows`` accounts in chunks, limiter off: rows per second.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import anyio

from lead2cash.config import Settings
from lead2cash.crm import seed
from lead2cash.crm.app import create_app
from lead2cash.crm.limits import LimitConfig
from lead2cash.crm.server import CrmServer
from lead2cash.crm.tls import ensure_certificate
from lead2cash.integration.dataverse import DataverseClient, DataverseSettings

SECRET = "bench-dataverse-client-secret"


async def throttled(settings: DataverseSettings, limits: LimitConfig, seconds: float, pace: float | None) -> dict:
    allowed = limits.max_requests / limits.window_seconds
    if pace:
        settings = dataclasses.replace(settings, max_rate=allowed * pace)
    accepted: list[float] = []
    async with DataverseClient(settings) as dv:
        await dv.who_am_i()  # sign in before the clock starts
        start = time.monotonic()
        end = start + seconds

        async def worker() -> None:
            while time.monotonic() < end:
                await dv.query("accounts", select="name", top=1)
                accepted.append(time.monotonic())

        async with anyio.create_task_group() as group:
            for _ in range(settings.max_concurrency):
                group.start_soon(worker)
        stats = dv.transport.stats
    steady_from = start + limits.window_seconds
    steady = sum(1 for t in accepted if steady_from <= t < end)
    rate = steady / (seconds - limits.window_seconds)
    return {
        "strategy": f"paced at {pace:.0%}" if pace else "retry_after",
        "attempts": stats.sent,
        "rejected_429": stats.throttled,
        "rejected_share": round(stats.throttled / stats.sent, 4) if stats.sent else None,
        "steady_rate_per_s": round(rate, 2),
        "share_of_allowed_rate": round(rate / allowed, 3),
    }


async def bulk(settings: DataverseSettings, rows: int, chunk: int) -> dict:
    records = [{"name": f"Bench account {i}", "accountnumber": f"B{i:07d}"} for i in range(rows)]
    async with DataverseClient(settings) as dv:
        await dv.metadata.table("accounts")
        start = time.perf_counter()
        await dv.create_multiple("accounts", records, chunk_size=chunk)
        elapsed = time.perf_counter() - start
        requests = dv.transport.stats.sent
    return {
        "rows": rows,
        "chunk_size": chunk,
        "concurrency": settings.max_concurrency,
        "requests": requests,
        "seconds": round(elapsed, 3),
        "rows_per_s": round(rows / elapsed, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.02, help="limiter scale (0.02 -> 120 requests / 6 s)")
    parser.add_argument("--seconds", type=float, default=24.0, help="run time per throttled strategy")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--pace", type=float, default=0.95)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--chunk", type=int, default=200)
    args = parser.parse_args()
    limits = LimitConfig().scaled(args.scale)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        app = create_app(
            Settings(data_dir=data, secret_key="bench-signing-secret-0123456789"),
            seed_options={"integration_secret": SECRET},
        )
        cert, key = ensure_certificate(data / "tls")
        server = CrmServer(app, http_port=None, https_port=0, certfile=cert, keyfile=key).start_in_thread()
        url = server.url("https")
        settings = DataverseSettings(
            url=url,
            authority=url,
            client_id=seed.INTEGRATION_CLIENT_ID,
            client_secret=SECRET,
            tenant_id="bench",
            ca_bundle=str(cert),
            max_concurrency=args.concurrency,
        )
        try:
            bulk_result = anyio.run(bulk, settings, args.rows, args.chunk)
            results = []
            for pace in (None, args.pace):
                app.state.l2c_protection.configure(limits)
                results.append(anyio.run(throttled, settings, limits, args.seconds, pace))
        finally:
            server.stop_thread()
    print(
        json.dumps(
            {
                "bench": "dataverse_client",
                "bulk_create": bulk_result,
                "throttled": {
                    "max_requests": limits.max_requests,
                    "window_seconds": limits.window_seconds,
                    "allowed_rate_per_s": round(limits.max_requests / limits.window_seconds, 2),
                    "concurrency": args.concurrency,
                    "seconds_per_strategy": args.seconds,
                    "results": results,
                },
            }
        )
    )


if __name__ == "__main__":
    main()
