"""The demo's first-start work, each step done once and skipped on later starts.

1. ERP demo data (the deterministic generator) when the ERP has no customers.
2. CRM demo data through the Web API as the org's administrator: a few accounts named like ERP demo
   customers (so the full synchronization couples them instead of creating duplicates) and contacts at
   them that the ERP does not have. Rows have fixed ids, so a second run creates nothing.
3. The connection: the seeded integration application user's client credentials and the CRM's
   certificate, the solution deployed with the seeded administrator (never stored), the standard
   mappings with their recurring job queue entries, the ERP's demo salespeople coupled to the CRM's
   salespeople users (as a user would do on the coupling page), and the connection enabled.
4. The full synchronization review generated and started, unless it was started before. CUSTOMER couples
   on the name and creates the rest (payment terms, shipment methods and shipping agents the org has no
   choice for are left blank on the accounts, M14, as for any customer); CONTACT runs as a full
   synchronization (the people differ on the two sides).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lead2cash.db import transaction
from lead2cash.erp.model import Customer
from lead2cash.erp.model.master import Contact, Salesperson
from lead2cash.integration.dataverse import DataverseSettings, SyncDataverseClient
from lead2cash.integration.dataverse.errors import PreconditionFailed

_NS = uuid.UUID("5d7c1c62-3f1e-4b2a-9d5e-6a1f0c2b7e41")
CRM_ACCOUNTS = 3
CRM_CONTACTS = (("Morgan", "Reyes"), ("Priya", "Natarajan"), ("Jonas", "Berg"), ("Lea", "Fischer"))


@dataclass
class CrmAccess:
    url: str
    cert: str
    client_id: str
    client_secret: str
    admin_username: str
    admin_password: str

    def admin_client(self) -> SyncDataverseClient:
        settings = DataverseSettings(
            url=self.url, authority=self.url, client_id=self.client_id, client_secret=self.client_secret,
            ca_bundle=self.cert, username=self.admin_username, password=self.admin_password,
        )  # fmt: skip
        return SyncDataverseClient(settings)


def load_erp_demo(sessions: sessionmaker[Session], size=None) -> dict[str, int] | None:
    from lead2cash.erp.demo import DemoSize, generate

    with transaction(sessions) as session:
        if session.scalar(select(func.count()).select_from(Customer)):
            return None
        return generate(session, size or DemoSize(customers=25, salespeople=3, opportunities=10))


def load_crm_demo(sessions: sessionmaker[Session], crm: SyncDataverseClient) -> int:
    """Accounts named like the first ERP customers and contacts at them; returns the rows created now."""
    with sessions() as session:
        names = list(session.scalars(select(Customer.name).order_by(Customer.no).limit(CRM_ACCOUNTS)))
    created = 0
    accounts = []
    for i, name in enumerate(names):
        account_id = uuid.uuid5(_NS, f"account-{i}")
        accounts.append(account_id)
        body = {
            "name": name,
            "customertypecode": 3,
            "telephone1": f"+1 555 010{i}",
            "websiteurl": "https://example.com",
        }
        created += _create(crm, "accounts", account_id, body)
    for i, (first, last) in enumerate(CRM_CONTACTS):
        if not accounts:
            break
        body = {
            "firstname": first, "lastname": last, "emailaddress1": f"{first.lower()}.{last.lower()}@example.com",
            "parentcustomerid_account@odata.bind": f"/accounts({accounts[i % len(accounts)]})",
        }  # fmt: skip
        created += _create(crm, "contacts", uuid.uuid5(_NS, f"contact-{i}"), body)
    return created


def _create(crm: SyncDataverseClient, entity_set: str, row_id: uuid.UUID, body: dict) -> int:
    try:
        crm.create(entity_set, body, id=row_id)
    except PreconditionFailed as exc:
        if not exc.already_exists:
            raise
        return 0
    return 1


def connect(sessions: sessionmaker[Session], secret_key: str, access: CrmAccess) -> bool:
    """Connection, solution, mappings, salesperson couplings, enable; False when it was done before."""
    from lead2cash.integration import recurring
    from lead2cash.integration.mapping.model import TableMapping
    from lead2cash.integration.setup import service

    with transaction(sessions) as session:
        if service.get_setup(session).enabled:
            return False
        changes = {"server_address": access.url, "client_id": access.client_id,
                   "client_secret": access.client_secret, "ca_bundle": access.cert}  # fmt: skip
        service.update(session, changes, secret_key)
    admin = service.AdminCredentials(access.admin_username, access.admin_password)
    service.deploy_solution(sessions, secret_key, admin)
    with transaction(sessions) as session:
        if not session.scalar(select(func.count()).select_from(TableMapping)):
            recurring.use_default_setup(session)
    couple_salespeople(sessions, access)
    service.set_enabled(sessions, secret_key, True)
    return True


def couple_salespeople(sessions: sessionmaker[Session], access: CrmAccess) -> int:
    """Couple the ERP's salespeople, in code order, to the CRM's salespeople users (not the administrator)."""
    from lead2cash.integration import couplings
    from lead2cash.integration.coupling_model import Coupling

    with access.admin_client() as crm:
        users = crm.query(
            "systemusers",
            select=["systemuserid", "domainname"],
            filter="islicensed eq true and isdisabled eq false and applicationid eq null",
            orderby=["domainname"],
        )
    users = [u for u in users if u.get("domainname") != access.admin_username]
    done = 0
    with transaction(sessions) as session:
        taken = set(session.scalars(select(Coupling.crm_id).where(Coupling.crm_entity == "systemuser")))
        people = session.scalars(select(Salesperson).order_by(Salesperson.code)).all()
        free = [uuid.UUID(u["systemuserid"]) for u in users if uuid.UUID(u["systemuserid"]) not in taken]
        for person, user_id in zip(people, free, strict=False):
            if couplings.by_erp_ids(session, "salesperson", [person.id]):
                continue
            couplings.couple(session, "salesperson", person.id, "systemuser", user_id)
            done += 1
    return done


def start_full_sync(sessions: sessionmaker[Session]) -> bool:
    """Generate and start the full synchronization review once; False when it was started before."""
    from lead2cash.integration import fullsync
    from lead2cash.integration.manual.crm import open_crm
    from lead2cash.integration.mapping.enums import LineStatus
    from lead2cash.integration.mapping.model import FieldMapping, TableMapping
    from lead2cash.integration.synclog import FullSyncLine

    with sessions() as session:
        started = select(func.count()).select_from(FullSyncLine).where(FullSyncLine.status != LineStatus.NOT_STARTED)
        if session.scalar(started):
            return False
    with transaction(sessions) as session:  # the demo's choices on the review page
        customer = session.get(TableMapping, "CUSTOMER")
        if customer is not None:
            customer.create_new_if_no_match = True
            customer.sync_after_bulk_coupling = True
            for row in session.scalars(select(FieldMapping).where(FieldMapping.table_mapping_name == "CUSTOMER")):
                row.use_for_matching = row.erp_field == "name"
    with open_crm(sessions) as crm:
        counts = fullsync.count_both_sides(sessions, crm)
        with transaction(sessions) as session:
            lines = fullsync.generate(session, crm, counts=counts)
            if any(line.name == "CONTACT" for line in lines):
                fullsync.recommend_full(session, "CONTACT")
            fullsync.start(session)
    return True


def erp_counts(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        return {
            "customers": session.scalar(select(func.count()).select_from(Customer)) or 0,
            "contacts": session.scalar(select(func.count()).select_from(Contact)) or 0,
        }
