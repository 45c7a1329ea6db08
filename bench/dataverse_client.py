"""The integration's Dataverse client against the local CRM server over HTTPS on loopback.

Two measurements, one JSON object:

- ``throttled``: the client against the scaled-down service-protection limiter (same rate as Dataverse's
  6,000 requests / 5 minutes, shorter window). Strategies: ``retry_after`` (send until refused, wait as
  ``Retry-After`` says, all requests together), ``paced`` (the client's ``max_rate`` at ``--pace`` of the
  allowed rate: a fixed interval) and ``budget`` (the client's ``budget_requests``/``budget_window`` set to
  the server's limit: a sliding window). Two callers, for each ``--work-ms`` value:
  ``0`` = ``max_concurrency`` workers read as fast as they can; ``X > 0`` = an engine-like caller sends
  ``--burst`` reads at once (a page's chunks), waits for them, then does ``X`` ms of CPU work on a thread
  before the next burst — time in which a fixed-interval pacer loses its slots. Reported: steady-state
  throughput as a share of the allowed rate (after the first window, whose initial burst the sliding
  window allows), the share of attempts answered 429, and how fast the caller could go with the limiter
  off (``unthrottled_share``: the share is capped by it). Goal: >= 90 % and < 1 %.
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


def busy(seconds: float) -> None:
    """CPU work (the engine mapping a page between requests)."""
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        pass


def strategy_settings(settings: DataverseSettings, limits: LimitConfig, strategy: str, pace: float):
    allowed = limits.max_requests / limits.window_seconds
    if strategy == "paced":
        return dataclasses.replace(settings, max_rate=allowed * pace), f"paced at {pace:.0%}"
    if strategy == "budget":
        budget = {"budget_requests": limits.max_requests, "budget_window": limits.window_seconds}
        return dataclasses.replace(settings, **budget), "budget"
    return settings, "retry_after"


async def throttled(
    settings: DataverseSettings,
    limits: LimitConfig,
    seconds: float,
    strategy: str,
    pace: float,
    work_ms: float,
    burst: int,
    limited: bool = True,
) -> dict:
    allowed = limits.max_requests / limits.window_seconds
    settings, label = strategy_settings(settings, limits, strategy, pace)
    accepted: list[float] = []
    async with DataverseClient(settings) as dv:
        await dv.who_am_i()  # sign in before the clock starts
        start = time.monotonic()
        end = start + seconds

        async def read() -> None:
            await dv.query("accounts", select="name", top=1)
            accepted.append(time.monotonic())

        async def worker() -> None:
            while time.monotonic() < end:
                await read()

        async def engine() -> None:
            while time.monotonic() < end:
                async with anyio.create_task_group() as page:
                    for _ in range(burst):
                        page.start_soon(read)
                await anyio.to_thread.run_sync(busy, work_ms / 1000)

        async with anyio.create_task_group() as group:
            if work_ms:
                group.start_soon(engine)
            else:
                for _ in range(settings.max_concurrency):
                    group.start_soon(worker)
        stats = dv.transport.stats
    if not limited:
        return {"unthrottled_share": round(len(accepted) / seconds / allowed, 3)}
    steady_from = start + limits.window_seconds
    steady = sum(1 for t in accepted if steady_from <= t < end)
    rate = steady / (seconds - limits.window_seconds)
    return {
        "strategy": label,
        "work_ms": work_ms,
        "attempts": stats.sent,
        "rejected_429": stats.throttled,
        "rejected_share": round(stats.throttled / stats.sent, 4) if stats.sent else None,
        "budget_waits": stats.budget_waits,
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
    parser.add_argument("--strategies", default="retry_after,paced,budget")
    parser.add_argument("--work-ms", default="0,50", help="comma-separated; CPU ms between bursts (0: workers)")
    parser.add_argument("--burst", type=int, default=5, help="reads sent at once between CPU work")
    parser.add_argument("--rows", type=int, default=5000, help="bulk create rows (0: skip)")
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
            bulk_result = anyio.run(bulk, settings, args.rows, args.chunk) if args.rows else None
            results = []
            for work_ms in (float(w) for w in args.work_ms.split(",")):
                options = (args.pace, work_ms, args.burst)
                app.state.l2c_protection.configure(dataclasses.replace(limits, enabled=False))
                free = anyio.run(throttled, settings, limits, 4.0, "retry_after", *options, False)
                for strategy in args.strategies.split(","):
                    app.state.l2c_protection.configure(limits)
                    results.append(anyio.run(throttled, settings, limits, args.seconds, strategy, *options) | free)
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
