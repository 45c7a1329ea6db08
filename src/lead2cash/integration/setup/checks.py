"""*Test connection*: each thing that must work, checked on its own, with a message that says what to fix.

A connection can fail at many layers, and "it does not work" helps nobody. The checks run in order and a
check whose prerequisite failed is reported as skipped rather than failing again for the same reason:

1. ``reachable`` — a TCP connection to the server's host and port;
2. ``tls`` — the TLS handshake, verifying the certificate against the configured CA bundle (or the system
   store);
3. ``token`` — the token endpoint hands out a token for the client id and secret;
4. ``whoami`` — the org accepts the token (``WhoAmI``): this names the integration user;
5. ``integration_user`` — that user is enabled, holds the integration roles and not System Administrator;
6. ``solution`` — every component of the integration solution is present;
7. ``change_tracking`` — every synced table is change-tracked.
"""

from __future__ import annotations

import dataclasses
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from lead2cash.integration.dataverse import (
    AuthenticationError,
    DataverseClient,
    DataverseError,
    DataverseSettings,
)
from lead2cash.integration.setup import solution

Status = Literal["ok", "failed", "skipped", "warning"]
CHECKS = ("reachable", "tls", "token", "whoami", "integration_user", "solution", "change_tracking")


@dataclass
class Check:
    name: str
    status: Status
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "message": self.message}


@dataclass
class TestReport:
    checks: list[Check] = field(default_factory=list)
    integration_user_id: str | None = None
    integration_user_name: str = ""
    solution_complete: bool = False

    @property
    def ok(self) -> bool:
        return all(c.status in ("ok", "warning") for c in self.checks)

    def add(self, name: str, status: Status, message: str) -> None:
        self.checks.append(Check(name, status, message))

    def skip_rest(self, reason: str) -> None:
        done = {c.name for c in self.checks}
        for name in CHECKS:
            if name not in done:
                self.add(name, "skipped", reason)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "integration_user": {"id": self.integration_user_id, "name": self.integration_user_name},
            "checks": [c.as_dict() for c in self.checks],
        }


def _endpoint(url: str) -> tuple[str, int, bool]:
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    return parts.hostname or "", parts.port or (443 if secure else 80), secure


def _network_checks(settings: DataverseSettings, report: TestReport, timeout: float) -> bool:
    host, port, secure = _endpoint(settings.url)
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        report.add("reachable", "failed", f"Cannot reach {host}:{port}: {exc}. Check the server address.")
        return False
    report.add("reachable", "ok", f"Connected to {host}:{port}.")
    with sock:
        if not secure:
            report.add("tls", "warning", "Plain HTTP: the connection is not encrypted (use https for real orgs).")
            return True
        verify = settings.tls_verify()
        if verify is False:
            report.add("tls", "warning", "Certificate verification is switched off.")
            return True
        context = verify if isinstance(verify, ssl.SSLContext) else ssl.create_default_context()
        try:
            with context.wrap_socket(sock, server_hostname=host) as tls:
                version = tls.version()
        except ssl.SSLCertVerificationError as exc:
            report.add(
                "tls",
                "failed",
                f"The certificate of {host}:{port} is not trusted ({exc.verify_message}). Set the CA bundle to the "
                "server's certificate (for the local CRM server: crm-cert.pem in its data directory's tls folder).",
            )
            return False
        except (ssl.SSLError, OSError) as exc:
            report.add(
                "tls", "failed", f"TLS handshake with {host}:{port} failed: {exc}. Check that the server speaks TLS."
            )
            return False
    trusted = f"the CA bundle {settings.ca_bundle}" if settings.ca_bundle else "the system certificate store"
    report.add("tls", "ok", f"{version}; certificate of {host} trusted through {trusted}.")
    return True


async def _sign_in(dv: DataverseClient, settings: DataverseSettings, report: TestReport) -> str | None:
    try:
        me = await dv.who_am_i()
    except AuthenticationError as exc:
        if exc.url.startswith(settings.service_root):  # a token was issued but the org refused it
            report.add("token", "ok", "A token was issued.")
            report.add("whoami", "failed", f"The org refused the token: {exc.message}")
        else:
            report.add("token", "failed", f"No token: {exc.message}. Check the tenant, client id and client secret.")
        return None
    except DataverseError as exc:
        report.add("token", "ok", "A token was issued.")
        report.add("whoami", "failed", f"WhoAmI failed: {exc}")
        return None
    report.add("token", "ok", f"A token was issued to client {settings.client_id}.")
    user = await dv.get("systemusers", me.user_id, select=["fullname", "isdisabled", "applicationid"])
    report.integration_user_id = me.user_id
    report.integration_user_name = str(user.get("fullname") or "")
    report.add("whoami", "ok", f"Signed in as {report.integration_user_name} ({me.user_id}).")
    if user.get("isdisabled"):
        report.add("integration_user", "failed", f"The user {report.integration_user_name} is disabled in the CRM.")
        return None
    return me.user_id


async def _user_checks(dv: DataverseClient, user_id: str, report: TestReport) -> None:
    roles = await solution.user_roles(dv, user_id)
    name = report.integration_user_name
    missing = [r for r in solution.INTEGRATION_ROLES if r not in roles]
    if solution.SYSTEM_ADMINISTRATOR in roles:
        report.add(
            "integration_user",
            "failed",
            f"The integration user {name} has the System Administrator role; choose a user without it.",
        )
    elif missing:
        report.add(
            "integration_user",
            "failed",
            f"The integration user {name} lacks the security role(s) {', '.join(missing)}. "
            "Deploy the solution: it assigns them.",
        )
    else:
        report.add("integration_user", "ok", f"{name} holds {', '.join(solution.INTEGRATION_ROLES)}.")


async def _org_checks(dv: DataverseClient, report: TestReport) -> None:
    state = await solution.inspect(dv)
    report.solution_complete = not state.missing
    if state.missing:
        shown = ", ".join(state.missing[:6]) + (f" and {len(state.missing) - 6} more" if len(state.missing) > 6 else "")
        report.add("solution", "failed", f"The integration solution is not deployed: missing {shown}. Deploy it.")
    else:
        report.add(
            "solution", "ok", f"The integration solution's components are present ({solution.SOLUTION_VERSION})."
        )
    if state.untracked:
        report.add(
            "change_tracking",
            "failed",
            f"Change tracking is off on {', '.join(state.untracked)}. Deploying the solution switches it on.",
        )
    else:
        report.add(
            "change_tracking", "ok", f"Change tracking is on for all {len(solution.TRACKED_TABLES)} synced tables."
        )


async def run_checks(settings: DataverseSettings, *, timeout: float = 5.0) -> TestReport:
    """Run every check against the org in ``settings``; never raises for a failing check."""
    report = TestReport()
    if not _network_checks(settings, report, timeout):
        report.skip_rest("Skipped: the server cannot be reached securely.")
        return report
    quick = dataclasses.replace(
        settings, max_attempts=2, max_throttled_attempts=3, connect_timeout=timeout, backoff_max=1.0
    )
    try:
        dv = DataverseClient(quick)
    except ValueError as exc:
        report.add("token", "failed", str(exc))
        report.skip_rest("Skipped: no credentials.")
        return report
    async with dv:
        try:
            user_id = await _sign_in(dv, quick, report)
            if user_id is None:
                report.skip_rest("Skipped: the integration user could not sign in.")
                return report
            await _user_checks(dv, user_id, report)
            await _org_checks(dv, report)
        except DataverseError as exc:
            report.skip_rest(f"Skipped after an error: {exc}")
    return report
