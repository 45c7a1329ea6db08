"""A fresh org's starting data: organization, base currency, default unit group, users and their roles.

A real Dynamics 365 Sales org never starts empty: it has a base currency, a root business unit, the
"Default Unit" group with its "Primary Unit", the administrator who created it, and (for an integration)
an application user with client credentials. Seeding is idempotent — it only runs when the org has no
organization row — and stable: the seeded users have fixed GUIDs, so tests and docs can name them.
Generated secrets are returned (and written by the CLI to a 0600 file), never logged.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa

from lead2cash.crm import security
from lead2cash.crm.store import Store

_NS = uuid.UUID("a3c1b2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d")
ORGANIZATION_ID = str(uuid.uuid5(_NS, "organization"))
ROOT_BUSINESS_UNIT_ID = str(uuid.uuid5(_NS, "businessunit"))
ADMINISTRATOR_ID = str(uuid.uuid5(_NS, "administrator"))
INTEGRATION_USER_ID = str(uuid.uuid5(_NS, "integration"))
INTEGRATION_CLIENT_ID = str(uuid.uuid5(_NS, "integration-client"))
DEFAULT_UNIT_GROUP_ID = str(uuid.uuid5(_NS, "uomschedule"))
PRIMARY_UNIT_ID = str(uuid.uuid5(_NS, "uom"))
ADMIN_USERNAME = "admin@lead2cash.local"
SALESPEOPLE = (
    ("Alicia", "Thomber", "alicia@lead2cash.local"),
    ("Bart", "Duncan", "bart@lead2cash.local"),
    ("Carla", "Peretti", "carla@lead2cash.local"),
)


def salesperson_id(username: str) -> str:
    return str(uuid.uuid5(_NS, f"user:{username}"))


@dataclass(frozen=True)
class _SystemCaller:
    systemuserid: str


@dataclass
class SeedCredentials:
    """The secrets generated for a new org (empty when the org already existed)."""

    admin_username: str = ADMIN_USERNAME
    admin_password: str = ""
    integration_client_id: str = INTEGRATION_CLIENT_ID
    integration_client_secret: str = ""
    salespeople: dict[str, str] = field(default_factory=dict)  # username → password

    @property
    def created(self) -> bool:
        return bool(self.admin_password)


def seed_org(
    store: Store,
    *,
    base_currency: tuple[str, str, str] = ("USD", "US Dollar", "$"),
    org_name: str = "lead2cash",
    admin_password: str | None = None,
    integration_secret: str | None = None,
    salesperson_password: str | None = None,
) -> SeedCredentials:
    """Seed an empty org; returns the generated credentials (nothing when already seeded)."""
    security.ensure_schema(store.engine)
    org = store.table("organization")
    with store.engine.connect() as conn:
        if conn.execute(sa.select(org.c.organizationid).limit(1)).first() is not None:
            return SeedCredentials()
    creds = SeedCredentials(
        admin_password=admin_password or secrets.token_urlsafe(16),
        integration_client_secret=integration_secret or secrets.token_urlsafe(32),
    )
    reg = store.registry
    with store.unit_of_work(_SystemCaller(ADMINISTRATOR_ID)) as uow:
        iso, name, symbol = base_currency
        currency_id = uow.create(
            reg.get("transactioncurrency"),
            {"isocurrencycode": iso, "currencyname": name, "currencysymbol": symbol,
             "currencyprecision": 2, "exchangerate": Decimal(1)},
        )  # fmt: skip
        uow.create(reg.get("organization"), {
            "organizationid": ORGANIZATION_ID, "name": org_name, "basecurrencyid": currency_id,
            "expirechangetrackingindays": 7,
        })  # fmt: skip
        uow.create(reg.get("businessunit"), {"businessunitid": ROOT_BUSINESS_UNIT_ID, "name": org_name})
        security.seed_roles(uow, ROOT_BUSINESS_UNIT_ID)
        users = [
            (ADMINISTRATOR_ID, "CRM", "Administrator", ADMIN_USERNAME, 0, None),
            (INTEGRATION_USER_ID, "#", "Lead2Cash Integration", None, 4, INTEGRATION_CLIENT_ID),
        ] + [(salesperson_id(u), f, last, u, 0, None) for f, last, u in SALESPEOPLE]
        for user_id, first, last, upn, mode, app_id in users:
            uow.create(reg.get("systemuser"), {
                "systemuserid": user_id, "firstname": first, "lastname": last, "domainname": upn,
                "internalemailaddress": upn, "isdisabled": False, "islicensed": app_id is None,
                "accessmode": mode, "businessunitid": ROOT_BUSINESS_UNIT_ID, "applicationid": app_id,
            })  # fmt: skip
        uow.create(reg.get("uomschedule"), {
            "uomscheduleid": DEFAULT_UNIT_GROUP_ID, "name": "Default Unit", "baseuomname": "Primary Unit",
        })  # fmt: skip
        uow.create(reg.get("uom"), {
            "uomid": PRIMARY_UNIT_ID, "name": "Primary Unit", "uomscheduleid": DEFAULT_UNIT_GROUP_ID,
            "quantity": Decimal(1),
        })  # fmt: skip
        uom = uow.table("uom")
        base_unit = {"baseuom": PRIMARY_UNIT_ID, "isschedulebaseuom": True}
        uow.conn.execute(sa.update(uom).where(uom.c.uomid == PRIMARY_UNIT_ID).values(base_unit))
        conn = uow.conn
        security.save_principal(
            conn, systemuserid=uuid.UUID(ADMINISTRATOR_ID), fullname="CRM Administrator",
            roles=[security.SYSTEM_ADMINISTRATOR, security.SOLUTION_CUSTOMIZER],
            username=ADMIN_USERNAME, password=creds.admin_password,
        )  # fmt: skip
        security.save_principal(
            conn, systemuserid=uuid.UUID(INTEGRATION_USER_ID), fullname="# Lead2Cash Integration",
            roles=[security.INTEGRATION_ADMINISTRATOR, security.INTEGRATION_USER],
            client_id=INTEGRATION_CLIENT_ID, client_secret=creds.integration_client_secret,
        )  # fmt: skip
        for first, last, username in SALESPEOPLE:
            password = salesperson_password or secrets.token_urlsafe(12)
            creds.salespeople[username] = password
            security.save_principal(
                conn, systemuserid=uuid.UUID(salesperson_id(username)), fullname=f"{first} {last}",
                roles=[security.SALESPERSON], username=username, password=password,
            )  # fmt: skip
    return creds
