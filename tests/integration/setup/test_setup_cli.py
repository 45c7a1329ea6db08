"""``lead2cash setup …`` against a real CRM org: connect, deploy (password from the environment), test,
enable, disable; the secret never printed."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from lead2cash.cli import app
from lead2cash.config import get_settings
from lead2cash.crm import seed
from lead2cash.integration.setup.model import ConnectionSetup

pytestmark = pytest.mark.parametrize("erp_module_db", ["sqlite"], indirect=True, scope="module")


@pytest.fixture
def run(erp_module_db, known_secrets, monkeypatch):
    monkeypatch.setenv("L2C_SECRET_KEY", known_secrets["erp_secret_key"])
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None):
        return runner.invoke(app, ["setup", *args, "--database-url", erp_module_db.url], env=env)

    yield invoke
    get_settings.cache_clear()
    with erp_module_db.sessions() as session, session.begin():
        session.execute(sa.delete(ConnectionSetup))


def test_connect_deploy_test_enable_disable(run, crm_org, known_secrets, password):
    secret = known_secrets["client_secret"]
    connected = run(
        "connect", "--server", crm_org.url, "--client-id", seed.INTEGRATION_CLIENT_ID, "--tenant", "local",
        "--ca-bundle", str(crm_org.cert), env={"L2C_SETUP_CLIENT_SECRET": secret},
    )  # fmt: skip
    assert connected.exit_code == 0, connected.output
    assert "Connected as # Lead2Cash Integration" in connected.output
    assert "lead2cash setup deploy" in connected.output  # the next step, as the solution is missing
    assert run("test").exit_code == 1
    refused = run("enable")
    assert refused.exit_code == 1 and "cannot be enabled" in refused.output

    deployed = run("deploy", "--admin-user", seed.ADMIN_USERNAME, env={"L2C_SETUP_ADMIN_PASSWORD": password})
    assert deployed.exit_code == 0, deployed.output
    assert "created" in deployed.output and f"deployed by {seed.ADMIN_USERNAME}" in deployed.output
    tested = run("test")
    assert tested.exit_code == 0, tested.output
    assert run("enable").exit_code == 0
    shown = json.loads(run("show", "--json").output)
    assert shown["enabled"] is True and shown["client_secret"] == "***"
    assert run("disable", "--reason", "maintenance").exit_code == 0
    shown = json.loads(run("show", "--json").output)
    assert shown["enabled"] is False and shown["disable_reason"] == "maintenance"
    for output in (connected.output, deployed.output, tested.output, json.dumps(shown)):
        assert secret not in output and password not in output


def test_deploy_with_a_wrong_password_fails_cleanly(run, crm_org, known_secrets):
    env = {"L2C_SETUP_CLIENT_SECRET": known_secrets["client_secret"]}
    args = ("--server", crm_org.url, "--client-id", seed.INTEGRATION_CLIENT_ID, "--ca-bundle", str(crm_org.cert))
    assert run("connect", *args, env=env).exit_code == 0
    failed = run("deploy", "--admin-user", seed.ADMIN_USERNAME, env={"L2C_SETUP_ADMIN_PASSWORD": "wrong"})
    assert failed.exit_code == 1
    assert "could not sign in" in failed.output
