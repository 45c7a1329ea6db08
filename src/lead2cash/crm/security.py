"""Who may do what in the CRM org: security roles, their privileges, and the principals that hold them.

Dataverse authorizes every operation through privileges (``prvCreateAccount``, ``prvDeleteSystemUser`` …)
granted by security roles. The org here knows a handful of roles — the ones the lead-to-cash flows need:
System Administrator, System Customizer, Solution Customizer, the two integration roles and Salesperson —
each described as data: which access (create/read/write/delete, or *customize* = change metadata) on which
tables. A missing privilege is a 403 with the platform's ``PrivilegeDenied`` code, naming the privilege.

Principals (application users with a client id and secret, interactive users with a user name and
password) and their role assignments are stored in the CRM database next to the ``systemuser`` rows they
belong to; secrets are kept only as scrypt hashes.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    MetaData,
    String,
    Table,
    Uuid,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection

from lead2cash.crm.odata.errors import PRIVILEGE_DENIED, DataverseError

SYSTEM_ADMINISTRATOR = "System Administrator"
SYSTEM_CUSTOMIZER = "System Customizer"
SOLUTION_CUSTOMIZER = "Solution Customizer"
INTEGRATION_ADMINISTRATOR = "Integration Administrator"
INTEGRATION_USER = "Integration User"
SALESPERSON = "Salesperson"


class Access(enum.StrEnum):
    CREATE = "Create"
    READ = "Read"
    WRITE = "Write"
    DELETE = "Delete"
    CUSTOMIZE = "Customize"  # create/alter tables, columns, keys; enable change tracking


ALL = "*"
# Tables only an administrator may change, whatever a role grants on "all tables".
ADMIN_ONLY_TABLES = frozenset({"systemuser", "businessunit", "team", "role", "organization"})
_SALES_WORK = frozenset(
    {"account", "contact", "opportunity", "quote", "quotedetail", "salesorder", "salesorderdetail", "post"}
)
_INTEGRATION_DATA = {Access.READ: ALL, Access.CREATE: ALL, Access.WRITE: ALL, Access.DELETE: ALL}

# role name → access → the tables it is granted on (ALL = every table except ADMIN_ONLY_TABLES).
ROLE_PRIVILEGES: dict[str, dict[Access, str | frozenset[str]]] = {
    SYSTEM_ADMINISTRATOR: {},  # everything; handled in has_privilege
    SYSTEM_CUSTOMIZER: {Access.CUSTOMIZE: ALL, Access.READ: ALL, Access.CREATE: ALL, Access.WRITE: ALL},
    SOLUTION_CUSTOMIZER: {Access.CUSTOMIZE: ALL, Access.READ: ALL},
    INTEGRATION_ADMINISTRATOR: _INTEGRATION_DATA,
    INTEGRATION_USER: _INTEGRATION_DATA,
    SALESPERSON: {
        Access.READ: ALL,
        Access.CREATE: _SALES_WORK | {"invoice", "invoicedetail"},
        Access.WRITE: _SALES_WORK | {"invoice", "invoicedetail"},
        Access.DELETE: frozenset({"opportunity", "quote", "quotedetail", "salesorderdetail", "post"}),
    },
}
ROLE_NAMES = tuple(ROLE_PRIVILEGES)
_ROLE_NS = uuid.UUID("0b7a9f6e-2d41-4c1e-8f57-3a9d1c6e5b20")


def role_id(name: str) -> uuid.UUID:
    """A stable ``roleid`` for a role name (the same on every org this server creates)."""
    return uuid.uuid5(_ROLE_NS, name)


def privilege_name(access: Access, entity: str | None) -> str:
    """Dataverse's spelling: ``prvDeleteSystemUser``-like names, ``prvCustomizeOrganization`` for metadata."""
    if access is Access.CUSTOMIZE or entity is None:
        return "prvCustomizeOrganization"
    return f"prv{access.value}{entity.capitalize()}"


@dataclass(frozen=True)
class Caller:
    """The principal a request runs as: ``modifiedby``/``createdby`` of whatever it writes."""

    systemuserid: uuid.UUID
    name: str
    is_application_user: bool = False
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_administrator(self) -> bool:
        return SYSTEM_ADMINISTRATOR in self.roles

    @property
    def is_integration_user(self) -> bool:
        """Holds an integration role: may edit submitted orders; its changes are not synced back."""
        return bool(self.roles & {INTEGRATION_ADMINISTRATOR, INTEGRATION_USER})

    def has_privilege(self, access: Access, entity: str | None = None) -> bool:
        if self.is_administrator:
            return True
        for role in self.roles:
            granted = ROLE_PRIVILEGES.get(role, {}).get(access)
            if granted is None:
                continue
            if access is Access.CUSTOMIZE or entity is None:
                return True
            if granted == ALL:
                if access is Access.READ or entity not in ADMIN_ONLY_TABLES:
                    return True
            elif entity in granted:
                return True
        return False


def require_privilege(caller: Caller, access: Access, entity: str | None = None) -> None:
    """Raise the platform's 403 when ``caller`` lacks the privilege for ``access`` on ``entity``."""
    if not caller.has_privilege(access, entity):
        privilege = privilege_name(access, entity)
        on = f" for entity '{entity}'" if entity and access is not Access.CUSTOMIZE else ""
        raise DataverseError(
            403,
            PRIVILEGE_DENIED,
            f"Principal user (Id={caller.systemuserid}, type=8, roleCount={len(caller.roles)}), "
            f"is missing {privilege} privilege{on}. Consider adding the privilege to one of the "
            "principal's security roles.",
        )


# ---- secrets ----

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_secret(secret: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            secret.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def new_client_secret() -> str:
    return secrets.token_urlsafe(32)


# ---- storage ----

security_metadata = MetaData()
principal_table = Table(
    "crm_principal",
    security_metadata,
    Column("systemuserid", Uuid, primary_key=True),
    Column("fullname", String(200), nullable=False),
    Column("is_application_user", Boolean, nullable=False, default=False),
    Column("client_id", String(100), unique=True),
    Column("username", String(200), unique=True),  # lowercased; interactive users only
    Column("secret_hash", String(200)),
    Column("disabled", Boolean, nullable=False, default=False),
)
role_assignment_table = Table(
    "crm_role_assignment",
    security_metadata,
    Column("systemuserid", Uuid, primary_key=True),
    Column("role_name", String(100), primary_key=True),
)


def ensure_schema(engine: Engine) -> None:
    security_metadata.create_all(engine)


@dataclass(frozen=True)
class Principal:
    caller: Caller
    client_id: str | None
    username: str | None
    secret_hash: str | None
    disabled: bool


def _check_roles(roles: list[str] | tuple[str, ...] | frozenset[str]) -> None:
    unknown = set(roles) - set(ROLE_NAMES)
    if unknown:
        raise ValueError(f"unknown security role(s): {', '.join(sorted(unknown))}")


def save_principal(
    conn: Connection,
    *,
    systemuserid: uuid.UUID,
    fullname: str,
    roles: list[str] | tuple[str, ...] = (),
    client_id: str | None = None,
    client_secret: str | None = None,
    username: str | None = None,
    password: str | None = None,
) -> None:
    """Create or replace an application user (client id + secret) or interactive user (name + password)."""
    if (client_id is None) == (username is None):
        raise ValueError("a principal has either a client id (application user) or a user name")
    _check_roles(roles)
    secret = client_secret if client_id is not None else password
    values = {
        "fullname": fullname,
        "is_application_user": client_id is not None,
        "client_id": client_id,
        "username": username.lower() if username else None,
        "secret_hash": hash_secret(secret) if secret else None,
        "disabled": False,
    }
    exists = conn.execute(
        select(principal_table.c.systemuserid).where(principal_table.c.systemuserid == systemuserid)
    ).first()
    if exists:
        conn.execute(update(principal_table).where(principal_table.c.systemuserid == systemuserid), values)
    else:
        conn.execute(insert(principal_table), {"systemuserid": systemuserid, **values})
    set_roles(conn, systemuserid, roles)


def set_roles(conn: Connection, systemuserid: uuid.UUID, roles: list[str] | tuple[str, ...]) -> None:
    _check_roles(roles)
    conn.execute(delete(role_assignment_table).where(role_assignment_table.c.systemuserid == systemuserid))
    if roles:
        conn.execute(
            insert(role_assignment_table),
            [{"systemuserid": systemuserid, "role_name": r} for r in set(roles)],
        )


def add_role(conn: Connection, systemuserid: uuid.UUID, role: str) -> None:
    _check_roles([role])
    if role not in roles_of(conn, systemuserid):
        conn.execute(insert(role_assignment_table), {"systemuserid": systemuserid, "role_name": role})


def remove_role(conn: Connection, systemuserid: uuid.UUID, role: str) -> None:
    t = role_assignment_table
    conn.execute(delete(t).where(t.c.systemuserid == systemuserid, t.c.role_name == role))


def roles_of(conn: Connection, systemuserid: uuid.UUID) -> frozenset[str]:
    t = role_assignment_table
    return frozenset(conn.scalars(select(t.c.role_name).where(t.c.systemuserid == systemuserid)))


def set_disabled(conn: Connection, systemuserid: uuid.UUID, disabled: bool) -> None:
    t = principal_table
    conn.execute(update(t).where(t.c.systemuserid == systemuserid).values(disabled=disabled))


def _principal(conn: Connection, where) -> Principal | None:
    row = conn.execute(select(principal_table).where(where)).mappings().first()
    if row is None:
        return None
    caller = Caller(
        systemuserid=row["systemuserid"],
        name=row["fullname"],
        is_application_user=row["is_application_user"],
        roles=roles_of(conn, row["systemuserid"]),
    )
    return Principal(caller, row["client_id"], row["username"], row["secret_hash"], row["disabled"])


def principal_by_id(conn: Connection, systemuserid: uuid.UUID) -> Principal | None:
    return _principal(conn, principal_table.c.systemuserid == systemuserid)


def principal_by_client_id(conn: Connection, client_id: str) -> Principal | None:
    return _principal(conn, principal_table.c.client_id == client_id)


def principal_by_username(conn: Connection, username: str) -> Principal | None:
    return _principal(conn, principal_table.c.username == username.lower())


def seed_roles(uow: Any, business_unit_id: str) -> None:
    """Create the ``role`` rows of a fresh org (ids from :func:`role_id`, so clients can look them up)."""
    entity = uow.registry.get("role")
    for name in ROLE_NAMES:
        uow.create(entity, {"roleid": str(role_id(name)), "name": name, "businessunitid": business_unit_id})


def role_name(roleid: uuid.UUID | str) -> str | None:
    """The role a ``roleid`` stands for (``None`` when it is not one of this org's roles)."""
    wanted = str(roleid).lower()
    return next((name for name in ROLE_NAMES if str(role_id(name)) == wanted), None)
