"""Microsoft's ``PowerPlatform-Dataverse-Client``, unchanged, against the local server over real HTTPS.

The server runs in a background thread on free loopback ports (the same ``CrmServer`` the CLI uses);
the client trusts the server's self-signed certificate through ``REQUESTS_CA_BUNDLE`` and signs in with a
small ``TokenCredential`` that calls the server's own Entra-shaped token endpoint, as the SDK would call
Entra ID for a real org.
"""

from __future__ import annotations

import importlib.util
import ssl
import time
import uuid

import httpx
import pytest
from azure.core.credentials import AccessToken

from lead2cash.config import Settings
from lead2cash.crm import seed
from lead2cash.crm.app import create_app
from lead2cash.crm.metadata import AlternateKeyDef
from lead2cash.crm.server import CrmServer
from lead2cash.crm.tls import ensure_certificate

dataverse = pytest.importorskip("PowerPlatform.Dataverse.client")
from PowerPlatform.Dataverse.core.errors import HttpError  # noqa: E402
from PowerPlatform.Dataverse.models.upsert import UpsertItem  # noqa: E402

SECRET = "sdk-e2e-client-secret"
TENANT = "00000000-0000-0000-0000-00000000e2e0"
needs_bulk = pytest.mark.skipif(
    importlib.util.find_spec("lead2cash.crm.api.bulk") is None, reason="bulk actions (crm/api/bulk.py) not present"
)


class ServerCredential:
    """A ``TokenCredential`` that gets client-credentials tokens from the CRM server's token endpoint."""

    def __init__(self, authority: str, client_id: str, client_secret: str, verify: str):
        self.authority, self.client_id, self.client_secret, self.verify = authority, client_id, client_secret, verify
        self.calls = 0
        self._cached: AccessToken | None = None

    def get_token(self, *scopes: str, **_kwargs) -> AccessToken:
        self.calls += 1
        if self._cached is not None and self._cached.expires_on - 60 > time.time():
            return self._cached
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "scope": " ".join(scopes),
        }
        trust = ssl.create_default_context(cafile=self.verify)
        response = httpx.post(f"{self.authority}/{TENANT}/oauth2/v2.0/token", data=form, verify=trust)
        response.raise_for_status()
        body = response.json()
        self._cached = AccessToken(body["access_token"], int(time.time()) + int(body["expires_in"]))
        return self._cached


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("crm-e2e")
    settings = Settings(data_dir=data_dir, secret_key="sdk-e2e-signing-secret-0123456789")
    app = create_app(settings, seed_options={"integration_secret": SECRET, "admin_password": "x"})
    app.state.l2c_store.add_key("account", AlternateKeyDef("accountnumber_key", ("accountnumber",)))
    cert, key = ensure_certificate(data_dir / "tls")
    running = CrmServer(app, http_port=None, https_port=0, certfile=cert, keyfile=key).start_in_thread()
    yield running, cert
    running.stop_thread()


@pytest.fixture
def client(server, monkeypatch):
    running, cert = server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    credential = ServerCredential(running.url("https"), seed.INTEGRATION_CLIENT_ID, SECRET, str(cert))
    return dataverse.DataverseClient(running.url("https"), credential)


def test_create_retrieve_update_delete(client):
    account_id = client.records.create("account", {"name": "SDK Contoso", "telephone1": "555-0100"})
    uuid.UUID(account_id)
    record = client.records.retrieve("account", account_id, select=["name", "telephone1"])
    assert record["name"] == "SDK Contoso"
    client.records.update("account", account_id, {"telephone1": "555-0199"})
    assert client.records.retrieve("account", account_id, select=["telephone1"])["telephone1"] == "555-0199"
    client.records.delete("account", account_id)
    assert client.records.retrieve("account", account_id) is None
    with pytest.raises(HttpError) as failure:
        client.records.update("account", account_id, {"name": "gone"})
    assert failure.value.status_code == 404


def test_list_with_paging_filter_and_order(client):
    prefix = f"Paged {uuid.uuid4().hex[:6]}"
    for i in range(7):
        client.records.create("account", {"name": f"{prefix} {i}"})
    pages = list(
        client.records.list_pages(
            "account", select=["name"], filter=f"startswith(name,'{prefix}')", orderby=["name desc"], page_size=3
        )
    )
    names = [r["name"] for page in pages for r in page]
    assert len(pages) == 3
    assert names == [f"{prefix} {i}" for i in reversed(range(7))]


def test_upsert_by_alternate_key_single(client):
    number = f"SDK-{uuid.uuid4().hex[:8]}"
    client.records.upsert("account", [UpsertItem(alternate_key={"accountnumber": number}, record={"name": "First"})])
    client.records.upsert("account", [UpsertItem(alternate_key={"accountnumber": number}, record={"name": "Second"})])
    rows = list(client.records.list("account", select=["name"], filter=f"accountnumber eq '{number}'"))
    assert [r["name"] for r in rows] == ["Second"]


def test_batch_with_a_changeset(client):
    name = f"Batch {uuid.uuid4().hex[:6]}"
    batch = client.batch.new()
    with batch.changeset() as changeset:
        account_ref = changeset.records.create("account", {"name": name})
        changeset.records.create("contact", {"lastname": "Batched", "parentcustomerid_account@odata.bind": account_ref})
    result = batch.execute()
    assert not result.has_errors
    assert len(result.entity_ids) == 2
    accounts = list(client.records.list("account", select=["name"], filter=f"name eq '{name}'"))
    assert len(accounts) == 1


@needs_bulk
def test_create_update_and_upsert_multiple(client):
    tag = uuid.uuid4().hex[:6]
    ids = client.records.create("account", [{"name": f"Bulk {tag} {i}"} for i in range(5)])
    assert len(ids) == 5
    client.records.update("account", ids, {"telephone1": "555-BULK"})
    rows = list(client.records.list("account", select=["telephone1"], filter=f"startswith(name,'Bulk {tag}')"))
    assert [r["telephone1"] for r in rows] == ["555-BULK"] * 5
    items = [UpsertItem(alternate_key={"accountnumber": f"U-{tag}-{i}"}, record={"name": f"Up {i}"}) for i in range(3)]
    client.records.upsert("account", items)
    client.records.upsert("account", [*items[:2], UpsertItem({"accountnumber": f"U-{tag}-9"}, {"name": "Up 9"})])
    upserted = list(
        client.records.list("account", select=["accountnumber"], filter=f"startswith(accountnumber,'U-{tag}')")
    )
    assert sorted(r["accountnumber"] for r in upserted) == sorted([f"U-{tag}-{i}" for i in (0, 1, 2, 9)])
