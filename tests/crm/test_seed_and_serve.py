"""A fresh org's seed data, and ``lead2cash crm serve`` as a real process on HTTP and HTTPS."""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from lead2cash.crm import seed

API = "/api/data/v9.2"


def test_fresh_org_has_currency_unit_group_and_users(crm_client):
    currencies = crm_client.get(f"{API}/transactioncurrencies?$select=isocurrencycode,exchangerate").json()["value"]
    assert [(c["isocurrencycode"], c["exchangerate"]) for c in currencies] == [("USD", 1)]
    org = crm_client.get(f"{API}/organizations?$select=_basecurrencyid_value").json()["value"][0]
    assert org["_basecurrencyid_value"] == currencies[0]["transactioncurrencyid"]
    groups = crm_client.get(
        f"{API}/uomschedules?$select=name&$expand=unit_of_measurement_schedule_conversions($select=name,quantity,isschedulebaseuom)"
    ).json()["value"]
    assert [g["name"] for g in groups] == ["Default Unit"]
    units = groups[0]["unit_of_measurement_schedule_conversions"]
    assert [(u["name"], u["quantity"], u["isschedulebaseuom"]) for u in units] == [("Primary Unit", 1, True)]
    users = crm_client.get(f"{API}/systemusers?$select=fullname,applicationid,isdisabled").json()["value"]
    by_id = {u["systemuserid"]: u for u in users}
    assert by_id[seed.INTEGRATION_USER_ID]["applicationid"] == seed.INTEGRATION_CLIENT_ID
    assert by_id[seed.ADMINISTRATOR_ID]["fullname"] == "CRM Administrator"
    assert sum(1 for u in users if u["applicationid"] is None) == 1 + len(seed.SALESPEOPLE)


def test_seeding_twice_changes_nothing(crm_app):
    assert not seed.seed_org(crm_app.state.l2c_store).created


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_serve_command_runs_http_and_https_with_the_printed_certificate(tmp_path):
    http_port, https_port = _free_port(), _free_port()
    command = [str(Path(sys.executable).parent / "lead2cash"), "crm", "serve", "--port", str(http_port),
               "--https-port", str(https_port), "--log-level", "warning"]  # fmt: skip
    env = {**os.environ, "L2C_DATA_DIR": str(tmp_path)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        while not any(line.startswith("TLS certificate:") for line in lines):
            line = process.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        cert = re.search(r"TLS certificate: (\S+)", "".join(lines)).group(1)
        creds = json.loads((tmp_path / "crm-credentials.json").read_text())
        assert oct((tmp_path / "crm-credentials.json").stat().st_mode & 0o777) == "0o600"
        assert creds["integration_client_secret"] not in "".join(lines)
        base = f"https://127.0.0.1:{https_port}"
        trust = ssl.create_default_context(cafile=cert)
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}{API}/", verify=trust, timeout=2)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "server did not answer"
                time.sleep(0.1)
        form = {"grant_type": "client_credentials", "client_id": creds["integration_client_id"],
                "client_secret": creds["integration_client_secret"], "scope": f"{base}/.default"}  # fmt: skip
        token = httpx.post(f"{base}/t/oauth2/v2.0/token", data=form, verify=trust).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        created = httpx.post(f"{base}{API}/accounts", json={"name": "Over TLS"}, headers=headers, verify=trust)
        assert created.status_code == 204
        assert created.headers["OData-EntityId"].startswith(f"{base}{API}/accounts(")
        plain = httpx.get(f"http://127.0.0.1:{http_port}{API}/accounts?$select=name", headers=headers)
        assert [a["name"] for a in plain.json()["value"]] == ["Over TLS"]
    finally:
        process.terminate()
        assert process.wait(30) is not None
