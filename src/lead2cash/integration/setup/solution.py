"""The integration solution: what the integration needs in the CRM org, and deploying it idempotently.

Business Central imports a packaged solution into Dynamics 365 Sales. Here the same customizations are
described as data and applied through the Web API's metadata endpoints, which the local CRM server and a
real org both answer:

- a custom table for account statistics (one row per coupled customer, linked from the account);
- custom columns: this ERP company's id on the CRM tables several ERP companies may share, the ERP order
  number / document occurrence on orders and the ERP line number on order lines (bidirectional orders);
- alternate keys the engine creates rows by, so that a retried create finds the row instead of
  duplicating it;
- change tracking on every table the integration reads changes from;
- the integration user's security roles.

Deployment runs with an administrator account given only for that call. It first checks that the account
holds *every* role in :data:`ADMIN_ROLES` and refuses, naming the missing ones, before changing anything.
Each component is looked up first and only created when missing, so a redeployment of a complete org
makes no change at all (:attr:`DeployReport.created` is empty).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lead2cash.integration.dataverse import DataverseClient, DataverseError, NotFound, column, label
from lead2cash.integration.dataverse.odata import literal
from lead2cash.integration.mapping.standard import MAPPINGS

SOLUTION_VERSION = "1.0.0"

# CRM security roles (names as the org shows them)
SYSTEM_ADMINISTRATOR = "System Administrator"
SOLUTION_CUSTOMIZER = "Solution Customizer"
ADMIN_ROLES = (SYSTEM_ADMINISTRATOR, SOLUTION_CUSTOMIZER)
INTEGRATION_ROLES = ("Integration Administrator", "Integration User")

# names the engine and the flows use
COMPANY_ID = "l2c_companyid"
ERP_ORDER_NO = "l2c_erpordernumber"
ERP_ORDER_OCCURRENCE = "l2c_erpdocumentoccurrence"
ERP_LINE_NO = "l2c_erplinenumber"
STATISTICS_TABLE = "l2c_accountstatistics"
STATISTICS_SET = "l2c_accountstatisticses"
STATISTICS_LOOKUP = "l2c_accountstatisticsid"  # on account
STATISTICS_MONEY = (
    ("l2c_BalanceLcy", "Balance (LCY)"),
    ("l2c_OutstandingOrdersLcy", "Outstanding orders (LCY)"),
    ("l2c_ShippedNotInvoicedLcy", "Shipped not invoiced (LCY)"),
    ("l2c_OutstandingInvoicesLcy", "Outstanding invoices (LCY)"),
    ("l2c_TotalLcy", "Total (LCY)"),
    ("l2c_CreditLimitLcy", "Credit limit (LCY)"),
    ("l2c_OverdueAmountsLcy", "Overdue amounts (LCY)"),
    ("l2c_TotalSalesLcy", "Total sales (LCY)"),
    ("l2c_InvoicedPrepaymentAmountLcy", "Invoiced prepayment amount (LCY)"),
)
# CRM tables whose rows belong to one ERP company (or to none)
COMPANY_TABLES = ("account", "contact", "product", "opportunity", "quote", "salesorder", "invoice", STATISTICS_TABLE)
# tables whose changes the integration reads: those of the standard mappings, quotes and order lines
TRACKED_TABLES = tuple(
    sorted({spec.crm_entity for spec in MAPPINGS} | {"uom", "quote", "quotedetail", "salesorderdetail"})
)


@dataclass(frozen=True)
class ColumnSpec:
    table: str
    definition: dict[str, Any]

    @property
    def logical_name(self) -> str:
        return str(self.definition["SchemaName"]).lower()


@dataclass(frozen=True)
class KeySpec:
    table: str
    schema_name: str
    attributes: tuple[str, ...]


def _columns() -> list[ColumnSpec]:
    specs = [
        ColumnSpec(table, column("String", "l2c_CompanyId", "ERP company id", MaxLength=36)) for table in COMPANY_TABLES
    ]
    specs += [
        ColumnSpec("salesorder", column("String", "l2c_ErpOrderNumber", "ERP order no.", MaxLength=20)),
        ColumnSpec("salesorder", column("Integer", "l2c_ErpDocumentOccurrence", "ERP document occurrence")),
        ColumnSpec("salesorderdetail", column("Integer", "l2c_ErpLineNumber", "ERP line no.")),
        ColumnSpec(STATISTICS_TABLE, column("String", "l2c_CustomerNo", "Customer no.", MaxLength=20)),
        ColumnSpec(
            STATISTICS_TABLE,
            column(
                "DateTime",
                "l2c_OverdueAmountsAsOf",
                "Overdue amounts as of",
                Format="DateOnly",
                DateTimeBehavior={"Value": "DateOnly"},
            ),
        ),
    ]
    specs += [
        ColumnSpec(STATISTICS_TABLE, column("Money", schema, caption, Precision=2))
        for schema, caption in STATISTICS_MONEY
    ]
    return specs


COLUMNS = tuple(_columns())
KEYS = (
    KeySpec(STATISTICS_TABLE, "l2c_CompanyCustomerNo", (COMPANY_ID, "l2c_customerno")),
    KeySpec("salesorder", "l2c_CompanyErpOrderNumber", (COMPANY_ID, ERP_ORDER_NO)),
    KeySpec("product", "l2c_ProductNumber", ("productnumber",)),
)


def statistics_table_definition() -> dict[str, Any]:
    primary = column("String", "l2c_Name", "Name", MaxLength=100, IsPrimaryName=True)
    return {
        "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
        "SchemaName": "l2c_AccountStatistics",
        "EntitySetName": STATISTICS_SET,
        "DisplayName": label("Account statistics"),
        "DisplayCollectionName": label("Account statistics"),
        "Description": label("ERP customer statistics shown on the account (one row per coupled customer)."),
        "OwnershipType": "OrganizationOwned",
        "HasActivities": False,
        "HasNotes": False,
        "IsActivity": False,
        "Attributes": [primary],
    }


def statistics_lookup_definition() -> dict[str, Any]:
    return {
        "@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
        "SchemaName": "l2c_accountstatistics_account",
        "ReferencedEntity": STATISTICS_TABLE,
        "ReferencedAttribute": f"{STATISTICS_TABLE}id",
        "ReferencingEntity": "account",
        "Lookup": {
            "@odata.type": "Microsoft.Dynamics.CRM.LookupAttributeMetadata",
            "AttributeType": "Lookup",
            "SchemaName": "l2c_AccountStatisticsId",
            "DisplayName": label("Account statistics"),
            "RequiredLevel": {"Value": "None", "CanBeChanged": True},
        },
    }


class SolutionError(Exception):
    """Deployment refused or failed; ``missing_roles`` when the administrator account lacks roles."""

    def __init__(self, message: str, *, missing_roles: Iterable[str] = ()):
        super().__init__(message)
        self.message = message
        self.missing_roles = tuple(missing_roles)


@dataclass
class SolutionState:
    """What is missing in an org (empty lists: the solution is fully deployed)."""

    missing: list[str] = field(default_factory=list)
    untracked: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing and not self.untracked


@dataclass
class DeployReport:
    created: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    administrator: str = ""
    integration_user_id: str | None = None
    version: str = SOLUTION_VERSION

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "administrator": self.administrator,
            "created": self.created,
            "already_present": self.present,
        }


# ---- reading the org ----


async def user_roles(dv: DataverseClient, user_id: str) -> set[str]:
    """Names of the security roles assigned to a CRM user."""
    path = f"systemusers({user_id})/systemuserroles_association"
    return {str(r.get("name")) for r in await dv.query(path, select=["roleid", "name"])}


async def _attribute_names(dv: DataverseClient, table: str) -> set[str]:
    return {str(a["LogicalName"]) for a in await dv.metadata.attributes(table, select=("LogicalName",))}


async def _has_table(dv: DataverseClient, table: str) -> bool:
    try:
        await dv.metadata.table(table, refresh=True)
    except NotFound:
        return False
    return True


async def _key_sets(dv: DataverseClient, table: str) -> set[frozenset[str]]:
    return {frozenset(str(a).lower() for a in k.get("KeyAttributes") or []) for k in await dv.metadata.keys(table)}


async def inspect(dv: DataverseClient) -> SolutionState:
    """Which components of the solution the org lacks, and which synced tables are not change-tracked."""
    state = SolutionState()
    statistics = await _has_table(dv, STATISTICS_TABLE)
    if not statistics:
        state.missing.append(f"table {STATISTICS_TABLE}")
    columns: dict[str, set[str]] = {}
    for spec in (*COLUMNS, ColumnSpec("account", {"SchemaName": STATISTICS_LOOKUP})):
        if spec.table == STATISTICS_TABLE and not statistics:
            state.missing.append(f"column {spec.table}.{spec.logical_name}")
            continue
        if spec.table not in columns:
            columns[spec.table] = await _attribute_names(dv, spec.table)
        if spec.logical_name not in columns[spec.table]:
            state.missing.append(f"column {spec.table}.{spec.logical_name}")
    for key in KEYS:
        absent = key.table == STATISTICS_TABLE and not statistics
        if absent or frozenset(key.attributes) not in await _key_sets(dv, key.table):
            state.missing.append(f"key {key.table}.{key.schema_name.lower()}")
    for table in TRACKED_TABLES:
        try:
            info = await dv.metadata.table(table, refresh=True)
        except NotFound:
            state.untracked.append(f"{table} (no such table)")
            continue
        if not info.change_tracking_enabled:
            state.untracked.append(table)
    return state


# ---- deploying ----


async def check_administrator(admin: DataverseClient) -> tuple[str, str]:
    """The administrator's (user id, name); :class:`SolutionError` naming each missing role."""
    me = await admin.who_am_i()
    user = await admin.get("systemusers", me.user_id, select=["fullname", "domainname"])
    name = str(user.get("domainname") or user.get("fullname") or me.user_id)
    missing = [role for role in ADMIN_ROLES if role not in await user_roles(admin, me.user_id)]
    if missing:
        raise SolutionError(
            f"The administrator account {name} lacks the security role(s) {', '.join(missing)}; the solution "
            f"deployment needs an account holding {' and '.join(ADMIN_ROLES)}. Nothing was changed.",
            missing_roles=missing,
        )
    return me.user_id, name


async def _role_id(admin: DataverseClient, role: str, business_unit: str | None) -> str:
    rows = await admin.query(
        "roles", select=["roleid", "name", "_businessunitid_value"], filter=f"name eq {literal(role)}"
    )
    if not rows:
        raise SolutionError(f"The CRM org has no security role named {role!r}.")
    in_unit = [r for r in rows if business_unit and str(r.get("_businessunitid_value") or "") == business_unit]
    return str((in_unit or rows)[0]["roleid"])


async def assign_integration_roles(admin: DataverseClient, user_id: str, report: DeployReport) -> None:
    user = await admin.get("systemusers", user_id, select=["fullname", "_businessunitid_value"])
    held = await user_roles(admin, user_id)
    for role in INTEGRATION_ROLES:
        what = f"role {role!r} of {user.get('fullname') or user_id}"
        if role in held:
            report.present.append(what)
            continue
        role_id = await _role_id(admin, role, user.get("_businessunitid_value"))
        ref = {"@odata.id": f"{admin.transport.service_root}roles({role_id})"}
        await admin.transport.request("POST", f"systemusers({user_id})/systemuserroles_association/$ref", json=ref)
        report.created.append(what)


async def deploy(admin: DataverseClient, integration_user_id: str) -> DeployReport:
    """Create whatever the org lacks, enable change tracking and assign the integration user's roles.

    ``admin`` must be signed in as an account holding :data:`ADMIN_ROLES` (checked before any change).
    Components already present are left alone, so running it again changes nothing.
    """
    report = DeployReport()
    _, report.administrator = await check_administrator(admin)
    try:
        await admin.get("systemusers", integration_user_id, select=["systemuserid"])
    except NotFound:
        raise SolutionError(
            f"The integration user {integration_user_id} does not exist in the CRM org; test the connection "
            "again to find the user the integration signs in as."
        ) from None
    try:
        await _deploy_components(admin, report)
        await assign_integration_roles(admin, integration_user_id, report)
    except DataverseError as exc:
        done = f" Already done: {', '.join(report.created)}." if report.created else ""
        raise SolutionError(f"The deployment of the solution failed: {exc.message}.{done}") from exc
    return report


async def _deploy_components(admin: DataverseClient, report: DeployReport) -> None:
    if await _has_table(admin, STATISTICS_TABLE):
        report.present.append(f"table {STATISTICS_TABLE}")
    else:
        await admin.metadata.create_table(statistics_table_definition())
        report.created.append(f"table {STATISTICS_TABLE}")
    columns: dict[str, set[str]] = {}
    for spec in COLUMNS:
        if spec.table not in columns:
            columns[spec.table] = await _attribute_names(admin, spec.table)
        what = f"column {spec.table}.{spec.logical_name}"
        if spec.logical_name in columns[spec.table]:
            report.present.append(what)
        else:
            await admin.metadata.create_attribute(spec.table, spec.definition)
            report.created.append(what)
    what = f"column account.{STATISTICS_LOOKUP}"
    if STATISTICS_LOOKUP in await _attribute_names(admin, "account"):
        report.present.append(what)
    else:
        await admin.metadata.create_lookup(statistics_lookup_definition())
        report.created.append(what)
    for key in KEYS:
        what = f"key {key.table}.{key.schema_name.lower()}"
        if frozenset(key.attributes) in await _key_sets(admin, key.table):
            report.present.append(what)
            continue
        await admin.metadata.create_alternate_key(key.table, key.schema_name, key.attributes)
        await admin.metadata.wait_for_key(key.table, key.schema_name)
        report.created.append(what)
    for table in TRACKED_TABLES:
        changed = await admin.metadata.enable_change_tracking(table)
        (report.created if changed else report.present).append(f"change tracking on {table}")
