"""The ``lead2cash`` command line: one entry point whose sub-commands belong to the components.

Each component owns its own Typer app (``erp/cli.py``, ``crm/cli.py``, …); this module only mounts them,
so the CRM server stays importable without the ERP and the other way round.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(no_args_is_help=True, help="lead2cash: CRM ↔ ERP lead-to-cash integration.")

# (sub-command name, module, attribute, help)
_COMPONENTS = [
    ("erp", "lead2cash.erp.cli", "app", "The ERP back office: database, API server, users."),
    ("crm", "lead2cash.crm.cli", "app", "The local Dynamics 365 Sales (Dataverse Web API) server."),
    ("jobs", "lead2cash.jobs.cli", "app", "Background jobs: job queue entries, runs, holds."),
    ("setup", "lead2cash.integration.setup.cli", "app", "Connection to the CRM: connect, test, deploy, enable."),
    ("sync", "lead2cash.integration.cli", "app", "Run the synchronization of a mapping or of all mappings."),
    ("couple", "lead2cash.integration.manual.cli", "app", "Couple, uncouple, match and synchronize records by hand."),
    ("fullsync", "lead2cash.integration.fullsync_cli", "app", "Full synchronization: review, start, progress."),
]

for _name, _module, _attr, _help in _COMPONENTS:
    try:
        _sub = getattr(importlib.import_module(_module), _attr)
    except ModuleNotFoundError as exc:  # a component not present in this build
        if exc.name != _module:
            raise
        continue
    app.add_typer(_sub, name=_name, help=_help)

try:  # ``demo-data`` lives with the ERP
    from lead2cash.erp.cli import register_top_level

    # the ERP process serves the ERP API with the integration's routers (put together outside ``erp``)
    register_top_level(app, app_factory="lead2cash.server:create_app")
except ModuleNotFoundError as exc:
    if exc.name != "lead2cash.erp.cli":
        raise

# ``run`` starts the whole demo: CRM server, ERP process, integration
from lead2cash.demo.run import run as _run_demo  # noqa: E402

app.command("run")(_run_demo)

try:  # ``worker``: runs background jobs (procrastinate on PostgreSQL, embedded threads on SQLite)
    from lead2cash.jobs.cli import register_top_level as _register_jobs

    _register_jobs(app)
except ModuleNotFoundError as exc:
    if exc.name != "lead2cash.jobs.cli":
        raise
