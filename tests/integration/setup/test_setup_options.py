"""Setup options: sales-order modes exclude each other and need a handling user (S6); item availability
needs an ERP user with a web service key (S5)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lead2cash.erp.model import ErpUser
from lead2cash.erp.model.setup import SalesSetup

API = "/api/v1/integration/setup"
pytestmark = pytest.mark.parametrize("erp_module_db", ["sqlite"], indirect=True, scope="module")


def test_order_modes_exclude_each_other_and_need_a_user(erp):
    needs_user = erp.client.put(API, json={"auto_create_sales_orders": True})
    assert needs_user.status_code == 422
    assert needs_user.json()["error"]["field"] == "sales_order_user"

    ok = erp.client.put(API, json={"auto_create_sales_orders": True, "sales_order_user": "order_processor"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["sales_order_user"] == "ORDER_PROCESSOR"

    both = erp.client.put(API, json={"bidirectional_sales_orders": True})
    assert both.status_code == 422
    assert both.json()["error"]["field"] == "bidirectional_sales_orders"
    assert erp.client.get(API).json()["bidirectional_sales_orders"] is False  # nothing was saved

    with erp.sessions() as session, session.begin():
        session.scalars(sa.select(SalesSetup)).one().archive_orders = False
    switched = erp.client.put(API, json={"auto_create_sales_orders": False, "bidirectional_sales_orders": True})
    assert switched.status_code == 200, switched.text
    with erp.sessions() as session:  # bidirectional orders are updated from the archive
        assert session.scalars(sa.select(SalesSetup.archive_orders)).one() is True

    disabled = erp.client.put(API, json={"sales_order_user": "DISABLED"})
    assert disabled.status_code == 422 and "disabled" in disabled.json()["error"]["message"]


def test_item_availability_needs_a_user_with_a_web_service_key(erp):
    with erp.sessions() as session, session.begin():
        session.add(ErpUser(user_name="ODATA", full_name="Availability service"))
    no_key = erp.client.put(API, json={"item_availability_enabled": True, "odata_web_service_user": "odata"})
    assert no_key.status_code == 422
    error = no_key.json()["error"]
    assert "web service access key" in error["message"] and "Change web service key" in error["fix"]

    key = erp.client.post("/api/v1/users/ODATA/change-web-service-key")
    assert key.status_code == 200, key.text
    ok = erp.client.put(API, json={"item_availability_enabled": True, "odata_web_service_user": "odata"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["item_availability_enabled"] is True


def test_unknown_fields_are_refused(erp):
    response = erp.client.put(API, json={"enabled": True})
    assert response.status_code == 422
    assert erp.client.get(API).json()["enabled"] is False
