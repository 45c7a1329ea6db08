"""Property-based API test: requests generated from the ERP's own OpenAPI document, sent with a valid
administrator key, never produce a server error (5xx) on any operation.

The operations share one seeded database per engine (``erp_module_db``); the example count per operation is
kept small so the whole run stays around a minute per engine.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy.orm import sessionmaker
from starlette.testclient import TestClient

from lead2cash.erp.api.app import create_app

# A deeper run: L2C_SCHEMATHESIS_EXAMPLES=100 pytest tests/erp/test_erp_schemathesis.py
EXAMPLES_PER_OPERATION = int(os.environ.get("L2C_SCHEMATHESIS_EXAMPLES", "8"))

# The document only describes the routes, so it is rendered from an app without a database.
schema = schemathesis.openapi.from_dict(create_app(sessionmaker()).openapi())


@pytest.fixture(scope="module")
def seeded_app(erp_module_db, erp_module_users):
    """The ERP app on the module's database, with a little master data so references sometimes resolve."""
    app = create_app(erp_module_db.sessions)
    admin = {"Authorization": f"Bearer {erp_module_users['administrator']}"}
    with TestClient(app, headers=admin) as client:
        for path, body in [
            ("salespeople", {"code": "JO", "name": "John"}),
            ("units-of-measure", {"code": "PCS"}),
            ("currencies", {"code": "USD"}),
            ("customer-price-groups", {"code": "RETAIL"}),
            ("customers", {"no": "C1", "name": "Adatum", "salesperson_code": "JO"}),
            ("contacts", {"no": "K1", "name": "Adatum", "customer_no": "C1"}),
            ("items", {"no": "1000", "base_unit_of_measure": "PCS", "unit_price": "10"}),
        ]:
            assert client.post(f"/api/v1/{path}", json=body).status_code == 201
    return app, admin


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_server_errors(case, seeded_app):
    app, admin = seeded_app
    case.call_and_validate(app=app, headers=admin, checks=[not_a_server_error])
