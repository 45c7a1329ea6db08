"""``lead2cash run`` as a user starts it: a real child process on free ports with its own data directory. It
must reach the end of the full synchronization (read from its ERP API, bounded wait), then serve both APIs
(the ERP with the printed key, the CRM with the credentials file it names), start again without loading
or setting up anything twice, and stop its CRM server when interrupted."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

DEADLINE = 300  # seconds for the first start on a busy 2-core machine: migrations, demo data, full sync


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Demo:
    def __init__(self, data: Path, ports: tuple[int, int, int]):
        self.data, self.ports = data, ports
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []

    def start(self) -> None:
        erp, crm, crm_tls = self.ports
        env = {k: v for k, v in os.environ.items() if not k.startswith("L2C_")}
        command = [sys.executable, "-c", "from lead2cash.cli import app; app()", "run", "--data-dir", str(self.data),
                   "--port", str(erp), "--crm-port", str(crm), "--crm-https-port", str(crm_tls),
                   "--crm-poll-seconds", "2"]  # fmt: skip
        env["COLUMNS"] = "200"
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for(self, pattern: str, deadline: float) -> re.Match:
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1.0)
            except queue.Empty:
                assert self.process.poll() is None, "".join(self.output)
                continue
            self.output.append(line)
            found = re.search(pattern, line)
            if found:
                return found
        raise AssertionError(f"no line matching {pattern!r} in time:\n{''.join(self.output)}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                return self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()


@pytest.fixture
def demo(tmp_path):
    started = Demo(tmp_path / "data", (_free_port(), _free_port(), _free_port()))
    yield started
    started.stop()


def _full_sync_done(erp: httpx.Client, deadline: float) -> list[dict]:
    while time.monotonic() < deadline:
        try:
            lines = erp.get("/api/v1/integration/full-sync").raise_for_status().json()["lines"]
        except httpx.TransportError:  # the key is printed just before the server starts listening
            time.sleep(0.5)
            continue
        if lines and all(line["status"] in ("Finished", "Error") for line in lines):
            return lines
        time.sleep(1.0)
    raise AssertionError("the full synchronization did not finish in time")


def test_run_starts_everything_syncs_and_restarts_idempotently(demo):
    deadline = time.monotonic() + DEADLINE
    demo.start()
    key = demo.wait_for(r"ERP key:\s+(\S+)", deadline).group(1)
    erp_url = f"http://127.0.0.1:{demo.ports[0]}"
    with httpx.Client(base_url=erp_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as erp:
        lines = _full_sync_done(erp, deadline)
        assert {line["status"] for line in lines} == {"Finished"}, lines
        customers = erp.get("/api/v1/customers", params={"limit": 100}).raise_for_status().json()
        setup = erp.get("/api/v1/integration/setup").raise_for_status().json()
    assert setup["enabled"] is True
    demo.wait_for(r"full synchronization finished", deadline)

    creds = json.loads((demo.data / "crm" / "crm-credentials.json").read_text())
    crm_url = f"https://127.0.0.1:{demo.ports[2]}"
    cert = ssl.create_default_context(cafile=str(demo.data / "crm" / "tls" / "crm-cert.pem"))
    form = {"grant_type": "client_credentials", "client_id": creds["integration_client_id"],
            "client_secret": creds["integration_client_secret"], "scope": f"{crm_url}/.default"}  # fmt: skip
    token = httpx.post(f"{crm_url}/common/oauth2/v2.0/token", data=form, verify=cert).raise_for_status().json()
    with httpx.Client(base_url=f"{crm_url}/api/data/v9.2/", verify=cert, timeout=30,
                      headers={"Authorization": f"Bearer {token['access_token']}"}) as crm:  # fmt: skip
        accounts = crm.get("accounts", params={"$select": "name"}).raise_for_status().json()["value"]
    erp_names = {c["name"] for c in customers["items"]}
    crm_names = [a["name"] for a in accounts]
    assert erp_names and erp_names <= set(crm_names)
    assert len(crm_names) == len(set(crm_names))  # the accounts both sides had were coupled, not duplicated

    assert demo.stop() == 0
    with pytest.raises(httpx.TransportError):  # the CRM server went down with it
        httpx.get(f"http://127.0.0.1:{demo.ports[1]}/api/data/v9.2/", timeout=2)

    demo.output.clear()
    demo.lines = queue.Queue()
    demo.start()  # a restart: no second demo load, no second setup, no second full synchronization
    deadline = time.monotonic() + 120
    demo.wait_for(r"ERP key:", deadline)
    text = "".join(demo.output)
    assert "demo data loaded" not in text and "Integration set up" not in text
    assert "Full synchronization started" not in text
