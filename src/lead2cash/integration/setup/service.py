"""Reading and changing the connection setup, testing it, deploying the solution, enabling and disabling.

The rules of Business Central's connection setup page, as functions the REST API and the CLI share:

- the server address is an absolute http(s) URL of the org root (``https://`` is added when missing);
- how the connection signs in cannot change while it is enabled; a new server forgets the integration user
  and the solution state learnt from the old one;
- *Automatically create sales orders* belongs to the default (one-way) order mode and excludes
  *bidirectional sales order integration*; any order or quote option needs the ERP user that handles it;
  bidirectional orders make the ERP archive orders (Sales & Receivables setup);
- item availability needs the ERP user the CRM calls the availability service as, with a web service key;
- enabling runs the connection test first and refuses while any check fails; it sets the integration's
  job queue entries Ready, and disabling puts them On Hold.

Calls to the CRM never run inside a database transaction (SQLite would hold its write lock through them):
the setup is read in one short transaction, the org is called, and the outcome written in another.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lead2cash.db import transaction
from lead2cash.erp.errors import ErpError, invalid
from lead2cash.erp.model import ErpUser
from lead2cash.erp.services.setup import sales_setup
from lead2cash.integration.dataverse import AuthenticationError, DataverseClient, DataverseError, DataverseSettings
from lead2cash.integration.dataverse.auth import MICROSOFT_AUTHORITY
from lead2cash.integration.setup import checks, crypto, solution
from lead2cash.integration.setup.model import SETUP_ID, ConnectionSetup
from lead2cash.integration.setup.status import JOB_HANDLER_PREFIX
from lead2cash.sqltypes import utcnow

log = logging.getLogger(__name__)
RECORD = "Connection setup"
SECRET_MASK = "***"
CONNECTION_FIELDS = ("server_address", "authority", "tenant_id", "client_id", "client_secret", "ca_bundle")
OPTION_FIELDS = (
    "auto_create_sales_orders",
    "auto_process_quotes",
    "bidirectional_sales_orders",
    "sales_order_user",
    "item_availability_enabled",
    "odata_web_service_user",
)
EDITABLE = CONNECTION_FIELDS + OPTION_FIELDS


class SetupFailed(ErpError):
    """The org refused or lacks something (bad administrator account, missing role, failed test)."""

    status = 422
    code = "setup_failed"


@dataclasses.dataclass(frozen=True)
class AdminCredentials:
    """The administrator account for one deployment (never stored): user + password, or client credentials."""

    username: str = ""
    password: str = dataclasses.field(default="", repr=False)
    client_id: str = ""
    client_secret: str = dataclasses.field(default="", repr=False)

    def check(self) -> None:
        by_user, by_client = bool(self.username or self.password), bool(self.client_id or self.client_secret)
        if (
            by_user == by_client
            or (by_user and not (self.username and self.password))
            or (by_client and not (self.client_id and self.client_secret))
        ):
            raise invalid(
                RECORD,
                "administrator account",
                "must be a user name with its password, or a client id with its secret",
                "Give the administrator's user name and password (or client id and secret) for this deployment.",
            )


# ---- the row ----


def get_setup(session: Session, *, for_update: bool = False) -> ConnectionSetup:
    """The setup row, created (disabled, empty) on first use."""
    query = select(ConnectionSetup).where(ConnectionSetup.id == SETUP_ID)
    setup = session.scalars(query.with_for_update() if for_update else query).first()
    if setup is None:
        setup = ConnectionSetup(id=SETUP_ID)
        session.add(setup)
        session.flush()
    return setup


def view(setup: ConnectionSetup) -> dict[str, Any]:
    """What the API and CLI show: every field, the secret only as ``***`` / ``has_secret``."""
    return {
        "server_address": setup.server_address,
        "authority": setup.authority,
        "effective_authority": authority_for(setup) if setup.server_address else "",
        "tenant_id": setup.tenant_id,
        "client_id": setup.client_id,
        "client_secret": SECRET_MASK if setup.has_secret else None,
        "has_secret": setup.has_secret,
        "ca_bundle": setup.ca_bundle,
        "integration_user": {"id": _text(setup.integration_user_id), "name": setup.integration_user_name},
        "enabled": setup.enabled,
        "disable_reason": setup.disable_reason,
        **{name: getattr(setup, name) for name in OPTION_FIELDS},
        "company_id": str(setup.company_id),
        "solution": {
            "deployed": setup.solution_deployed,
            "version": setup.solution_version,
            "deployed_at": _text(setup.solution_deployed_at),
        },
        "last_test": {
            "at": _text(setup.last_test_at),
            "ok": setup.last_test_ok,
            "checks": setup.last_test_result or [],
        },
    }


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


# ---- changing it ----


def normalise_url(value: str, field: str = "server_address") -> str:
    text = value.strip().rstrip("/")
    if not text:
        return ""
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid(
            RECORD, field, f"'{value}' is not an absolute http(s) URL", "Enter e.g. https://contoso.crm.dynamics.com."
        )
    path = parts.path.split("/api/data", 1)[0].rstrip("/")  # the org root, not the Web API path
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def authority_for(setup: ConnectionSetup) -> str:
    """The sign-in authority: as configured; else Entra ID for Dynamics 365 online, the server itself otherwise."""
    if setup.authority:
        return setup.authority
    host = (urlsplit(setup.server_address).hostname or "").lower()
    return MICROSOFT_AUTHORITY if host.endswith(".dynamics.com") else setup.server_address


def update(session: Session, changes: dict[str, Any], secret_key: str) -> ConnectionSetup:
    """Apply ``changes`` (field → value; ``client_secret`` in plain text, ``***`` keeps the stored one)."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise invalid(RECORD, unknown[0], "cannot be changed here", f"Editable fields: {', '.join(EDITABLE)}.")
    setup = get_setup(session, for_update=True)
    changes = dict(changes)
    if changes.get("client_secret") == SECRET_MASK:
        del changes["client_secret"]
    for name in ("server_address", "authority"):
        if name in changes:
            changes[name] = normalise_url(str(changes[name] or ""), name)
    bundle = changes.get("ca_bundle")
    if bundle and not Path(bundle).is_file():
        raise invalid(RECORD, "ca_bundle", f"'{bundle}' is not a file", "Give the path of a PEM file.")
    if bundle:
        changes["ca_bundle"] = str(Path(bundle).resolve())  # the server may run from another directory
    connection_changed = [n for n in CONNECTION_FIELDS if n in changes and _differs(setup, n, changes[n])]
    if connection_changed and setup.enabled:
        raise invalid(RECORD, connection_changed[0], "cannot change while the connection is enabled",
                      "Disable the connection first.")  # fmt: skip
    if "server_address" in connection_changed:  # another org: what we learnt about the old one is void
        setup.integration_user_id, setup.integration_user_name = None, ""
        setup.solution_deployed, setup.solution_version, setup.solution_deployed_at = False, "", None
        setup.last_test_at, setup.last_test_ok, setup.last_test_result = None, None, None
    for name, value in changes.items():
        if name == "client_secret":
            setup.client_secret_encrypted = crypto.encrypt(value, secret_key) if value else None
        elif name in ("sales_order_user", "odata_web_service_user"):
            setattr(setup, name, str(value or "").strip().upper())
        elif name in OPTION_FIELDS and not isinstance(getattr(setup, name), str):
            setattr(setup, name, bool(value))
        else:
            setattr(setup, name, str(value or "").strip())
    _check_options(session, setup)
    if setup.bidirectional_sales_orders:
        sales_setup(session).archive_orders = True  # bidirectional orders are updated from their archives
    return setup


def _differs(setup: ConnectionSetup, name: str, value: Any) -> bool:
    if name == "client_secret":
        return bool(value) or setup.has_secret
    return str(value or "") != getattr(setup, name)


def _check_options(session: Session, setup: ConnectionSetup) -> None:
    if setup.auto_create_sales_orders and setup.bidirectional_sales_orders:
        raise invalid(
            RECORD,
            "bidirectional_sales_orders",
            "cannot be combined with automatically creating sales orders (the default order mode)",
            "Switch off auto_create_sales_orders to use bidirectional sales order integration, or the other way.",
        )
    if setup.auto_create_sales_orders or setup.auto_process_quotes or setup.bidirectional_sales_orders:
        _user(session, setup.sales_order_user, "sales_order_user", "handle sales order integration")
    if setup.item_availability_enabled:
        user = _user(session, setup.odata_web_service_user, "odata_web_service_user", "serve item availability")
        if not user.web_service_key_hash:
            raise invalid(
                RECORD,
                "odata_web_service_user",
                f"names user {user.user_name}, who has no web service access key",
                f"Run 'Change web service key' for user {user.user_name} first.",
            )


def _user(session: Session, name: str, field: str, purpose: str) -> ErpUser:
    if not name:
        raise invalid(RECORD, field, "must name an ERP user", f"Name the ERP user who should {purpose}.")
    user = session.scalars(select(ErpUser).where(ErpUser.user_name == name)).first()
    if user is None or not user.enabled:
        state = "does not exist" if user is None else "is disabled"
        raise invalid(RECORD, field, f"names user {name}, who {state}", "Choose an enabled ERP user.")
    return user


# ---- talking to the org ----


def dataverse_settings(setup: ConnectionSetup, secret_key: str) -> DataverseSettings:
    """Client settings for the integration user (the secret decrypted only here, in memory)."""
    if not setup.server_address or not setup.client_id or not setup.has_secret:
        missing = [n for n, v in (("server_address", setup.server_address), ("client_id", setup.client_id),
                                  ("client_secret", setup.has_secret)) if not v]  # fmt: skip
        raise invalid(RECORD, missing[0], "is missing", "Enter the server address, client id and client secret.")
    return DataverseSettings(
        url=setup.server_address,
        authority=authority_for(setup),
        tenant_id=setup.tenant_id,
        client_id=setup.client_id,
        client_secret=crypto.decrypt(setup.client_secret_encrypted or "", secret_key),
        ca_bundle=setup.ca_bundle or None,
    )


def test_connection(sessions: sessionmaker[Session], secret_key: str) -> checks.TestReport:
    """Run every check and remember the outcome (and the integration user it found)."""
    with transaction(sessions) as session:
        settings = dataverse_settings(get_setup(session), secret_key)
    report = anyio.run(checks.run_checks, settings)
    with transaction(sessions) as session:
        setup = get_setup(session, for_update=True)
        setup.last_test_at, setup.last_test_ok = utcnow(), report.ok
        setup.last_test_result = [c.as_dict() for c in report.checks]
        if report.integration_user_id:
            setup.integration_user_id = _uuid(report.integration_user_id)
            setup.integration_user_name = report.integration_user_name
        if any(c.name == "solution" and c.status != "skipped" for c in report.checks):
            setup.solution_deployed = report.solution_complete
    log.info("Connection test of %s: %s", settings.url, "ok" if report.ok else "failed")
    return report


def _uuid(value: str) -> uuid.UUID:
    return uuid.UUID(value)


def deploy_solution(sessions: sessionmaker[Session], secret_key: str, admin: AdminCredentials) -> solution.DeployReport:
    """Deploy (or redeploy) the solution with ``admin``, which is used for this call only and never stored."""
    admin.check()
    with transaction(sessions) as session:
        setup = get_setup(session)
        settings = dataverse_settings(setup, secret_key)
        user_id = _text(setup.integration_user_id)
    admin_settings = dataclasses.replace(
        settings,
        username=admin.username,
        password=admin.password,
        client_id=admin.client_id,
        client_secret=admin.client_secret,
        max_attempts=3,
    )
    try:
        report = anyio.run(_deploy, settings, admin_settings, user_id)
    except solution.SolutionError as exc:
        missing = f" (missing: {', '.join(exc.missing_roles)})" if exc.missing_roles else ""
        log.warning("Solution deployment refused%s", missing)
        raise SetupFailed(exc.message, field="administrator account" if exc.missing_roles else None) from None
    except AuthenticationError as exc:
        raise SetupFailed(
            f"The administrator account could not sign in: {exc.message}",
            field="administrator account",
            fix="Enter valid administrator credentials.",
        ) from None
    except DataverseError as exc:
        raise SetupFailed(f"The deployment of the solution failed: {exc}") from None
    with transaction(sessions) as session:
        setup = get_setup(session, for_update=True)
        setup.solution_deployed, setup.solution_version = True, report.version
        setup.solution_deployed_at = utcnow()
        if not setup.integration_user_id and report.integration_user_id:
            setup.integration_user_id = _uuid(report.integration_user_id)
    log.info("Solution %s deployed by %s: %d created", report.version, report.administrator, len(report.created))
    return report


async def _deploy(settings: DataverseSettings, admin_settings: DataverseSettings, user_id: str | None):
    if not user_id:  # not tested yet: the integration user is whoever the connection signs in as
        async with DataverseClient(settings) as dv:
            user_id = (await dv.who_am_i()).user_id
    async with DataverseClient(admin_settings) as admin:
        report = await solution.deploy(admin, user_id)
    report.integration_user_id = user_id
    return report


def set_enabled(sessions: sessionmaker[Session], secret_key: str, enabled: bool, reason: str = "") -> ConnectionSetup:
    """Enable (after a passing connection test) or disable the connection."""
    if enabled:
        report = test_connection(sessions, secret_key)
        if not report.ok:
            failed = "; ".join(f"{c.name}: {c.message}" for c in report.checks if c.status == "failed")
            raise SetupFailed(
                f"The connection cannot be enabled: {failed}", fix="Fix the failing checks (see 'test connection')."
            )
    with transaction(sessions) as session:
        setup = get_setup(session, for_update=True)
        setup.enabled = enabled
        setup.disable_reason = "" if enabled else (reason or "Disabled by a user.")[:250]
        _set_jobs_ready(session, enabled)
    return setup


def _set_jobs_ready(session: Session, ready: bool) -> None:
    """The integration's recurring job queue entries: Ready when enabled, On Hold when disabled."""
    from lead2cash.integration.recurring import ensure_entries
    from lead2cash.jobs import scheduler
    from lead2cash.jobs.model import EntryStatus, JobQueueEntry

    if ready:  # create or refresh one recurring entry per mapping before setting them Ready
        ensure_entries(session)
    query = select(JobQueueEntry).where(JobQueueEntry.handler.like(f"{JOB_HANDLER_PREFIX}%"))
    for entry in session.scalars(query.with_for_update()):
        if ready:
            scheduler.resume(session, entry.key)
        elif entry.status != EntryStatus.ON_HOLD:
            scheduler.hold(session, entry.key)
