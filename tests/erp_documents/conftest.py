"""Fixtures for the sales document tests (the shared ``erp_db`` plus this folder's master data)."""

from __future__ import annotations

import pytest
from sales_docs_support import add_master_data, unit_of_work


@pytest.fixture
def db(erp_db):
    """The bootstrapped ERP database with the master data of ``sales_docs_support``."""
    with unit_of_work(erp_db) as session:
        add_master_data(session)
    return erp_db
