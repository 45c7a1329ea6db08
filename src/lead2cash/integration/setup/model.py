"""The connection setup: one row in the ERP database saying how the integration reaches its CRM org.

It holds what Business Central keeps on its "Dynamics 365 Connection Setup" page: where the org is and how
to sign in (OAuth2 client credentials — tenant, client id, secret — against Entra ID or the local CRM
server's own token endpoint), the CRM integration user found by signing in, the enabled flag and the
sales-order, quote and item-availability options, this ERP company's id (stamped on the CRM rows it owns),
what the solution deployment left in the org, and the outcome of the last connection test.

The client secret is stored only encrypted (``client_secret_encrypted``, see :mod:`.crypto`); the
administrator account used to deploy the solution is never stored at all.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Integer, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from lead2cash.erp.model.base import Base
from lead2cash.erp.model.columns import flag, text
from lead2cash.sqltypes import UTCDateTime, utcnow

SETUP_ID = 1  # the one row


class ConnectionSetup(Base):
    """Connection to the CRM org and the integration's options (a single row, ``id`` = 1)."""

    __tablename__ = "connection_setup"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=SETUP_ID)
    # where and how to sign in
    server_address: Mapped[str] = text(250)  # org root URL, e.g. https://contoso.crm4.dynamics.com
    authority: Mapped[str] = text(250)  # blank: Entra ID for *.dynamics.com, else the server itself
    tenant_id: Mapped[str] = text(100)
    client_id: Mapped[str] = text(100)
    client_secret_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    ca_bundle: Mapped[str] = text(500)  # PEM file to trust (the local server's self-signed certificate)
    # the CRM user the integration runs as (found by signing in: WhoAmI)
    integration_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    integration_user_name: Mapped[str] = text(200)
    enabled: Mapped[bool] = flag(False)
    disable_reason: Mapped[str] = text(250)
    # sales orders and quotes (S6): the default (one-way) order mode or bidirectional orders
    auto_create_sales_orders: Mapped[bool] = flag(False)
    auto_process_quotes: Mapped[bool] = flag(False)
    bidirectional_sales_orders: Mapped[bool] = flag(False)
    sales_order_user: Mapped[str] = text(50)  # ERP user name that handles sales order integration
    # item availability (S5): the ERP user the CRM calls the availability web service as
    item_availability_enabled: Mapped[bool] = flag(False)
    odata_web_service_user: Mapped[str] = text(50)
    # this ERP company in the CRM (company id column on shared CRM tables)
    company_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, default=uuid.uuid4)
    # what the solution deployment left in the org
    solution_deployed: Mapped[bool] = flag(False)
    solution_version: Mapped[str] = text(20)
    solution_deployed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # the last "test connection"
    last_test_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_test_ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    last_test_result: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    @property
    def has_secret(self) -> bool:
        return bool(self.client_secret_encrypted)

    def __repr__(self) -> str:  # never shows the (encrypted) secret
        return f"ConnectionSetup(server_address={self.server_address!r}, enabled={self.enabled})"
