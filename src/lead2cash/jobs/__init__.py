"""Background jobs: a queue with one contract and two runners, and job queue entries as users see them.

Business code registers handlers by name (``register_handler``) and queues work with ``JobSpec`` or keeps a
recurring ``EntrySpec`` per key; it never depends on which runner executes the jobs (see ``jobs.queue``).
"""

from lead2cash.jobs.registry import JobContext, Outcome, register_handler
from lead2cash.jobs.scheduler import EntrySpec
from lead2cash.jobs.store import JobSpec

__all__ = ["EntrySpec", "JobContext", "JobSpec", "Outcome", "register_handler"]
