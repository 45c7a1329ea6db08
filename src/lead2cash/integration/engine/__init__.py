"""The synchronization engine: passes, per-record decisions, field transfer, conflicts (see ``run``)."""

from lead2cash.integration.engine.run import run_all, run_mapping, sync_records

__all__ = ["run_all", "run_mapping", "sync_records"]
