"""``lead2cash couple …``: manual coupling and synchronization from the command line.

The same operations as the REST API (``integration.api.manual``): ERP records are named by their key
(customer no., currency code …) or SystemId, CRM rows by id or primary name. Commands that synchronize
queue background jobs and print their ids; ``lead2cash worker`` (or ``lead2cash run``) runs them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from lead2cash.config import get_settings
from lead2cash.erp.errors import ErpError, NotFound

app = typer.Typer(no_args_is_help=True, help="Couple, uncouple, match and synchronize records by hand.")
console = Console()
DB = typer.Option(None, "--database-url", help="ERP database; default: L2C_DATABASE_URL or SQLite in data_dir.")
AS_JSON = typer.Option(False, "--json", help="Print the answer as JSON.")


def _sessions(database_url: str | None):
    from lead2cash.erp.database import open_database

    return open_database(database_url or get_settings().erp_database_url())[1]


def _run(database_url: str | None, work: Callable[[Any, Any], Any], *, crm: bool = True) -> Any:
    """Run ``work(session, crm)`` in one transaction; errors are printed with their fix and exit 1."""
    from lead2cash.db import transaction
    from lead2cash.integration.dataverse.errors import DataverseError
    from lead2cash.integration.manual.crm import open_crm

    sessions = _sessions(database_url)
    try:
        if not crm:
            with transaction(sessions) as session:
                return work(session, None)
        with open_crm(sessions) as client, transaction(sessions) as session:
            return work(session, client)
    except (ErpError, DataverseError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


def erp_ids(session, mapping_name: str, keys: list[str]) -> list[uuid.UUID]:
    """SystemIds of the ERP records named by key or id (one query for all keys)."""
    from sqlalchemy import select

    from lead2cash.integration.manual.crm import get_mapping
    from lead2cash.integration.mapping.defaults import erp_model

    model = erp_model(get_mapping(session, mapping_name).erp_table)
    ids, codes = [], []
    for key in keys:
        try:
            ids.append(uuid.UUID(key))
        except ValueError:
            codes.append(key)
    key_col = getattr(model, model.__key__)
    found = dict(session.execute(select(key_col, model.id).where(key_col.in_(codes))).all()) if codes else {}
    missing = [c for c in codes if c not in found]
    if missing:
        raise NotFound(f"No {model.label()} {', '.join(missing)}.", record=model.label(), fix="Check the keys.")
    return ids + [found[c] for c in codes]


def _print(answer: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(answer, indent=2, default=str))
        return
    if isinstance(answer, dict):
        table = Table(show_header=False, box=None)
        for key, value in answer.items():
            table.add_row(
                f"[bold]{key}[/bold]", json.dumps(value, default=str) if isinstance(value, (list, dict)) else str(value)
            )
        console.print(table)
    else:
        console.print(answer)


@app.command("set")
def set_up(
    mapping: str,
    erp_key: str = typer.Argument(..., help="The ERP record's key (no./code) or SystemId."),
    crm_id: str = typer.Option(None, "--crm-id", help="The CRM row's id."),
    crm_name: str = typer.Option(None, "--crm-name", help="The CRM row's primary name (must be unique)."),
    sync: str = typer.Option(None, "--sync", help="Synchronize right away: 'to-crm' or 'from-crm'."),
    as_json: bool = AS_JSON,
    database_url: str = DB,
):
    """Couple one ERP record to a CRM row (and optionally queue its synchronization)."""
    from lead2cash.integration.manual.coupling import set_up_coupling
    from lead2cash.integration.mapping.enums import Direction

    way = {"to-crm": Direction.TO_CRM, "from-crm": Direction.FROM_CRM, None: None}.get(sync, "bad")
    if way == "bad":
        raise typer.BadParameter("use 'to-crm' or 'from-crm'", param_hint="--sync")
    target = uuid.UUID(crm_id) if crm_id else None
    answer = _run(
        database_url,
        lambda s, crm: set_up_coupling(
            s, crm, mapping, erp_ids(s, mapping, [erp_key])[0], crm_id=target, crm_name=crm_name, sync=way
        ).as_dict(),
    )
    _print(answer, as_json)


@app.command("delete")
def delete(
    mapping: str,
    erp_keys: list[str] = typer.Argument(None, help="ERP records whose couplings to delete."),
    whole_mapping: bool = typer.Option(False, "--all", help="Delete every coupling of the mapping."),
    database_url: str = DB,
):
    """Delete couplings (never data)."""
    from lead2cash.integration.manual.coupling import delete_couplings

    n = _run(
        database_url,
        lambda s, _: delete_couplings(
            s, mapping, erp_ids=erp_ids(s, mapping, erp_keys or []), whole_mapping=whole_mapping
        ),
        crm=False,
    )
    console.print(f"Deleted {n} coupling(s); no data was deleted.")


@app.command("match")
def match(
    mapping: str,
    create_new: bool = typer.Option(None, "--create-new/--no-create-new", help="Create records without a match."),
    sync_after: bool = typer.Option(None, "--sync-after/--no-sync-after", help="Synchronize the coupled records."),
    as_json: bool = AS_JSON,
    database_url: str = DB,
):
    """Couple the mapping's uncoupled records on a unique match of the fields marked for matching."""
    from lead2cash.integration.dataverse.errors import DataverseError
    from lead2cash.integration.manual.crm import open_crm
    from lead2cash.integration.manual.matching import match_in_steps

    sessions = _sessions(database_url)
    try:
        with open_crm(sessions) as crm:
            report = match_in_steps(sessions, crm, mapping, create_new=create_new, sync_after=sync_after)
    except (ErpError, DataverseError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    _print(report.as_dict(), as_json)


@app.command("uncoupled")
def uncoupled(
    mapping: str,
    page_size: int = typer.Option(50, min=1, max=500),
    cursor: str = typer.Option(None, help="The next cursor printed by the previous page."),
    as_json: bool = AS_JSON,
    database_url: str = DB,
):
    """List the mapping's CRM rows that are not coupled (a page at a time)."""
    from lead2cash.integration.manual import crm as crm_side

    def work(s, crm):
        mapping_row = crm_side.get_mapping(s, mapping)
        page = crm_side.uncoupled_rows(s, crm, mapping_row, page_size=page_size, cursor=cursor)
        return {"value": page.rows, "next_cursor": page.next}

    answer = _run(database_url, work)
    if as_json:
        _print(answer, True)
        return
    for row in answer["value"]:
        console.print("  ".join(str(v) for k, v in row.items() if not k.startswith("@")))
    if answer["next_cursor"]:
        console.print(f"[dim]next page: --cursor '{answer['next_cursor']}'[/dim]")


@app.command("create-in-crm")
def create_in_crm(mapping: str, erp_keys: list[str], as_json: bool = AS_JSON, database_url: str = DB):
    """Queue the creation and coupling in the CRM of ERP records without a CRM row."""
    from lead2cash.integration.manual import sync_now

    answer = _run(
        database_url, lambda s, crm: sync_now.create_in_crm(s, crm, mapping, erp_ids(s, mapping, erp_keys)).as_dict()
    )
    _print(answer, as_json)


@app.command("create-in-erp")
def create_in_erp(mapping: str, crm_ids: list[str], as_json: bool = AS_JSON, database_url: str = DB):
    """Queue the creation and coupling in the ERP of uncoupled CRM rows."""
    from lead2cash.integration.manual import sync_now

    ids = [uuid.UUID(i) for i in crm_ids]
    answer = _run(database_url, lambda s, _: sync_now.create_in_erp(s, mapping, ids).as_dict(), crm=False)
    _print(answer, as_json)


@app.command("sync-now")
def synchronize_now(
    mapping: str,
    erp_keys: list[str],
    action: str = typer.Option(None, "--action", help="send, get or merge; without it: show the recommendation."),
    overwrite_newer: bool = typer.Option(False, "--overwrite-newer", help="Confirm overwriting newer data."),
    as_json: bool = AS_JSON,
    database_url: str = DB,
):
    """Synchronize coupled records now, or show what is recommended for them."""
    from lead2cash.integration.manual import sync_now

    def work(s, crm):
        ids = erp_ids(s, mapping, erp_keys)
        if action is None:
            return {"records": [st.as_dict() for st in sync_now.assess(s, crm, mapping, ids)]}
        return sync_now.synchronize_now(
            s, crm, mapping, ids, sync_now.Action(action), overwrite_newer=overwrite_newer
        ).as_dict()

    if action not in (None, "send", "get", "merge"):
        raise typer.BadParameter("use send, get or merge", param_hint="--action")
    _print(_run(database_url, work), as_json)


ERROR_ACTIONS = ("retry", "retry-all", "synchronize", "delete-couplings", "restore", "delete-records")


@app.command("errors")
def errors(
    coupling_ids: list[int] = typer.Argument(None, help="Coupling ids (from the list) to act on."),
    action: str = typer.Option(None, "--action", help="One of: " + ", ".join(ERROR_ACTIONS)),
    mapping: str = typer.Option(None, "--mapping", help="Only this mapping's couplings."),
    as_json: bool = AS_JSON,
    database_url: str = DB,
):
    """Coupled data synchronization errors: list skipped and failed couplings, or act on them."""
    from lead2cash.integration.manual import sync_errors

    if action is not None and action not in ERROR_ACTIONS:
        raise typer.BadParameter("use one of " + ", ".join(ERROR_ACTIONS), param_hint="--action")
    ids = coupling_ids or []
    actions = {
        "retry": lambda s, crm: {"retried": sync_errors.retry(s, ids)},
        "retry-all": lambda s, crm: {"retried": sync_errors.retry_all(s, mapping)},
        "synchronize": lambda s, crm: sync_errors.synchronize(s, ids).as_dict(),
        "delete-couplings": lambda s, crm: {"deleted": sync_errors.delete_couplings(s, ids)},
        "restore": lambda s, crm: sync_errors.restore_records(s, crm, ids).as_dict(),
        "delete-records": lambda s, crm: sync_errors.delete_records(s, crm, ids).as_dict(),
    }
    if action is not None:
        _print(_run(database_url, actions[action], crm=action in ("restore", "delete-records")), as_json)
        return
    page = _run(database_url, lambda s, crm: sync_errors.list_errors(s, crm, mapping=mapping))
    if as_json:
        _print(page, True)
        return
    table = Table("id", "mapping", "ERP record", "CRM row", "skipped", "last error")
    for line in page["lines"]:
        erp = line["erp_record"] or f"[red]deleted[/red] {line['erp_id']}"
        crm = line["crm_id"] if line["crm_exists"] else f"[red]deleted[/red] {line['crm_id']}"
        table.add_row(
            str(line["coupling_id"]),
            line["mapping"] or "",
            erp,
            crm,
            "yes" if line["skipped"] else "",
            line["last_error"] or "",
        )
    console.print(table)
    console.print(f"{page['total']} coupling(s) need attention.")
