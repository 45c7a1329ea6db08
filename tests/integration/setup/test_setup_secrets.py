"""Secrets at rest and in output: the client secret is stored encrypted, never shown and never logged,
and the administrator account of a deployment is not stored at all."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from lead2cash.crm import seed
from lead2cash.integration.setup import crypto
from lead2cash.integration.setup.crypto import SecretUnreadable

API = "/api/v1/integration/setup"


def _raw_row(engine) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT * FROM connection_setup")).mappings().one())


def test_secret_encrypted_at_rest_and_masked_in_output(erp, crm_org, connection, known_secrets, caplog):
    secret, key = known_secrets["client_secret"], known_secrets["erp_secret_key"]
    caplog.set_level(logging.DEBUG)
    response = erp.client.put(API, json=connection(crm_org))
    assert response.status_code == 200
    assert response.json()["client_secret"] == "***" and response.json()["has_secret"] is True
    erp.client.post(f"{API}/test")
    deploy = erp.client.post(f"{API}/deploy", json={"admin_username": seed.ADMIN_USERNAME, "admin_password": "nope"})
    assert deploy.status_code == 422

    raw = _raw_row(erp.engine)
    stored = raw["client_secret_encrypted"]
    assert stored and secret not in stored
    assert crypto.decrypt(stored, key) == secret
    assert not any("nope" in str(value) for value in raw.values())  # the administrator account is not kept
    for text in (erp.client.get(API).text, response.text, caplog.text):
        assert secret not in text
        assert "nope" not in text
    assert crm_org.url in caplog.text  # the log does tell what was tested

    # "***" keeps the stored secret; a new value replaces it; an empty one removes it
    erp.client.put(API, json={"client_secret": "***"})
    assert _raw_row(erp.engine)["client_secret_encrypted"] == stored
    erp.client.put(API, json={"client_secret": ""})
    shown = erp.client.get(API).json()
    assert shown["has_secret"] is False and shown["client_secret"] is None


def test_a_changed_secret_key_asks_for_the_secret_again():
    token = crypto.encrypt("s3cret", "key-one")
    assert token != crypto.encrypt("s3cret", "key-one")  # a fresh nonce each time
    assert crypto.decrypt(token, "key-one") == "s3cret"
    with pytest.raises(SecretUnreadable) as caught:
        crypto.decrypt(token, "key-two")
    assert "client secret again" in str(caught.value)
