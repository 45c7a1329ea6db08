"""The demo's CRM server as a child process: its own data directory, database, certificate and credentials.

``lead2cash crm serve`` runs with ``L2C_DATA_DIR=<data dir>/crm``; on its first start it seeds the org and
writes the generated credentials (administrator password, integration client secret) to
``crm-credentials.json`` there (0600). Later starts reuse the org and the file. Its output goes to
``server.log`` in the same directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

CREDENTIALS_FILE = "crm-credentials.json"


@dataclass
class CrmProcess:
    data_dir: Path
    host: str
    http_port: int
    https_port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.https_port}"

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    @property
    def cert(self) -> Path:
        return (self.data_dir / "tls" / "crm-cert.pem").resolve()

    @property
    def credentials_file(self) -> Path:
        return (self.data_dir / CREDENTIALS_FILE).resolve()

    def credentials(self) -> dict:
        return json.loads(self.credentials_file.read_text())

    def start(self, timeout: float = 60.0) -> CrmProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "L2C_DATA_DIR": str(self.data_dir.resolve())}
        env.pop("L2C_SECRET_KEY", None)  # the CRM signs its tokens with a key of its own
        log = open(self.data_dir / "server.log", "ab")  # noqa: SIM115  (closed by the child's exit)
        command = [sys.executable, "-c", "from lead2cash.cli import app; app()", "crm", "serve", "--host", self.host,
                   "--port", str(self.http_port), "--https-port", str(self.https_port),
                   "--log-level", "warning"]  # fmt: skip
        self.process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the CRM server stopped at start; see {self.data_dir / 'server.log'}")
            try:
                httpx.get(f"{self.http_url}/api/data/v9.2/", timeout=2.0)
                if self.credentials_file.exists() and self.cert.exists():
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the CRM server did not answer within {timeout:.0f} s; see {self.data_dir / 'server.log'}")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)
