"""A client against the CRM server's service-protection limiter: how much of the allowed rate it gets.

The limiter runs scaled down (same shape as Dataverse's 6,000 requests / 5 minutes, a shorter window) on a
real server over loopback HTTP. Several worker threads share one signed-in user and read as fast as they
can, honouring ``Retry-After`` together (one 429 pauses them all). Three client strategies:

- ``retry_after``: send until told to wait, wait as long as ``Retry-After`` says;
- ``paced``: also spread requests evenly on the client (a fixed interval at ``--pace`` times the allowed
  rate, default 95 %): a slot a worker was not ready for is lost;
- ``budget``: keep the server's window on the client (at most N requests in flight or answered within
  the last W seconds, counted from when the answer arrived), so a late worker catches up.

With ``--work-ms X`` every worker does X ms of CPU work after each answer (what the sync engine does
between requests). Reported per strategy: steady-state throughput as a share of the allowed rate (after
the first window, whose initial burst the sliding window allows), and the share of requests answered 429.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

import httpx

from lead2cash.config import Settings
from lead2cash.crm import seed
from lead2cash.crm.app import create_app
from lead2cash.crm.limits import LimitConfig
from lead2cash.crm.server import CrmServer

SECRET = "bench-client-secret"


class Gate:
    """Shared by the workers: a pause after 429 and, for the paced strategy, a fixed interval; for the budget
    strategy, the server's window (N requests in flight or answered within W seconds)."""

    def __init__(self, rate: float | None, budget: int | None = None, window: float = 0.0):
        self.lock = threading.Lock()
        self.paused_until = 0.0
        self.rate = rate
        self.next_slot = time.monotonic()
        self.budget, self.window = budget, window
        self.answered: deque[float] = deque()
        self.in_flight = 0

    def _budget_delay(self, now: float) -> float:
        while self.answered and self.answered[0] <= now - self.window:
            self.answered.popleft()
        must_leave = len(self.answered) + self.in_flight - self.budget + 1
        if must_leave <= 0:
            return 0.0
        if must_leave > len(self.answered):
            return 0.005  # only an answer in flight can free a slot: look again shortly
        return self.answered[must_leave - 1] + self.window - now

    def wait_turn(self) -> None:
        while True:
            with self.lock:
                now = time.monotonic()
                start = max(now, self.paused_until)
                if self.budget:
                    delay = max(start - now, self._budget_delay(now))
                    if delay <= 0:
                        self.in_flight += 1
                        return
                else:
                    if self.rate:
                        start = max(start, self.next_slot)
                        self.next_slot = start + 1 / self.rate
                    delay = start - now
            if delay > 0:
                time.sleep(delay)
            if not self.budget:
                return

    def answered_now(self, counted: bool) -> None:
        if self.budget:
            with self.lock:
                self.in_flight -= 1
                if counted:
                    self.answered.append(time.monotonic())

    def pause(self, seconds: float) -> None:
        with self.lock:
            self.paused_until = max(self.paused_until, time.monotonic() + seconds)


def busy(seconds: float) -> None:
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        pass


def run_strategy(
    base: str,
    token: str,
    *,
    strategy: str,
    pace: float,
    limits: LimitConfig,
    seconds: float,
    workers: int,
    work_ms: float = 0.0,
) -> dict:
    allowed_rate = limits.max_requests / limits.window_seconds
    if strategy == "budget":
        gate = Gate(None, limits.max_requests, limits.window_seconds)
    else:
        gate = Gate(allowed_rate * pace if strategy == "paced" else None)
    accepted: list[float] = []
    rejected: list[float] = []
    errors: list[int] = []
    record = threading.Lock()
    start = time.monotonic()
    end = start + seconds

    def worker() -> None:
        headers = {"Authorization": f"Bearer {token}", "Prefer": "odata.maxpagesize=1"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            while True:
                gate.wait_turn()
                now = time.monotonic()
                if now >= end:
                    gate.answered_now(False)
                    return
                try:
                    answer = client.get("/api/data/v9.2/accounts", params={"$select": "name"})
                except httpx.HTTPError:
                    gate.answered_now(counted=True)
                    raise
                gate.answered_now(counted=answer.status_code != 429)  # a refused request is not counted
                with record:
                    if answer.status_code == 200:
                        accepted.append(now)
                    elif answer.status_code == 429:
                        rejected.append(now)
                    else:
                        errors.append(answer.status_code)
                if answer.status_code == 429:
                    gate.pause(float(answer.headers.get("Retry-After", "1")))
                elif work_ms:
                    busy(work_ms / 1000)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    steady_from = start + limits.window_seconds
    steady = sum(1 for t in accepted if t >= steady_from)
    steady_seconds = seconds - limits.window_seconds
    total = len(accepted) + len(rejected)
    return {
        "strategy": f"paced at {pace:.0%}" if strategy == "paced" else strategy,
        "work_ms": work_ms,
        "requests": total,
        "accepted": len(accepted),
        "rejected_429": len(rejected),
        "other_errors": len(errors),
        "rejected_share": round(len(rejected) / total, 4) if total else None,
        "steady_rate_per_s": round(steady / steady_seconds, 2),
        "share_of_allowed_rate": round(steady / steady_seconds / allowed_rate, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.02, help="limiter scale (0.02 → 120 requests / 6 s)")
    parser.add_argument("--seconds", type=float, default=24.0, help="run time per strategy")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--pace", type=float, default=0.95, help="paced strategy: share of the allowed rate")
    parser.add_argument("--strategies", default="retry_after,paced,budget")
    parser.add_argument("--work-ms", default="0,20", help="comma-separated: CPU ms per worker after each answer")
    args = parser.parse_args()
    limits = LimitConfig().scaled(args.scale)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), secret_key="bench-signing-secret-0123456789")
        app = create_app(settings, limits=limits, seed_options={"integration_secret": SECRET})
        server = CrmServer(app, https_port=None).start_in_thread()
        base = server.url("http")
        try:
            form = {"grant_type": "client_credentials", "client_id": seed.INTEGRATION_CLIENT_ID}
            form |= {"client_secret": SECRET, "scope": f"{base}/.default"}
            token = httpx.post(f"{base}/bench/oauth2/v2.0/token", data=form).json()["access_token"]
            results = []
            for work_ms in (float(w) for w in args.work_ms.split(",")):
                for strategy in args.strategies.split(","):
                    app.state.l2c_protection.reset()
                    options = {"limits": limits, "seconds": args.seconds, "workers": args.workers, "work_ms": work_ms}
                    results.append(run_strategy(base, token, strategy=strategy, pace=args.pace, **options))
        finally:
            server.stop_thread()
    print(
        json.dumps(
            {
                "bench": "crm_throttled",
                "limit": {"max_requests": limits.max_requests, "window_seconds": limits.window_seconds},
                "allowed_rate_per_s": round(limits.max_requests / limits.window_seconds, 2),
                "workers": args.workers,
                "seconds_per_strategy": args.seconds,
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
