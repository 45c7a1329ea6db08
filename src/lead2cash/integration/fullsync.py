"""Full synchronization (F1-F4): the review lines, their recommendation, and running them in dependency order.

The review has one ``FullSyncLine`` per mapping with the mapping's dependencies and a recommendation
computed from record counts on both sides (reference §7.3): *Full synchronization* when only one side has
records, *Couple records* when both have (running a full sync then would create duplicates), *No records
found* when neither has. ``start`` queues one background job per line through the job queue, each line's
job depending on the jobs of the lines it depends on, so a line starts as soon as its dependencies
finished — currencies before customers, customers before contacts — while the user keeps working.

A *Full synchronization* job runs the engine's full passes of the mapping (watermarks ignored, uncoupled
records created on the other side). The mapping's recurring job queue entry is held from the moment the
line is queued until its job ends (so it never runs ahead of the line's dependencies); the
passes advance the mapping's own watermarks as they commit, so when the hold is released the recurring
job continues incrementally from where the full synchronization ended. A *Couple records* job runs
match-based coupling with the criteria stored on the field rows, then creates the unmatched records and
synchronizes the coupled ones as the mapping's flags say.

Line status is read from the job queue (ready / in process / finished / error) and pass status and
counts from the synchronization log, every time the review is shown: the page refreshes itself.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lead2cash.db import transaction
from lead2cash.erp.errors import Conflict, NotFound
from lead2cash.integration.manual import crm as crm_side
from lead2cash.integration.mapping import filters
from lead2cash.integration.mapping.defaults import erp_model
from lead2cash.integration.mapping.enums import Direction, LineStatus, MappingKind, PassStatus, Recommendation
from lead2cash.integration.mapping.model import TableMapping
from lead2cash.integration.synclog import COUNTERS, FullSyncLine, SyncJob
from lead2cash.jobs import JobSpec, store
from lead2cash.jobs.model import Job, JobStatus
from lead2cash.sqltypes import utcnow

FULL_SYNC_JOB = "integration.full_sync"
COUPLE_JOB = "integration.couple_records"
#: mappings synchronized with their header, never on a line of their own
CHILD_MAPPINGS = frozenset({"POSTEDSALESLINE-INV", "SOLINE-ORDERDETAIL"})
UNIT_GROUPS = "uomschedule"

_LINE_STATUS = {
    JobStatus.WAITING: LineStatus.READY,
    JobStatus.READY: LineStatus.READY,
    JobStatus.RUNNING: LineStatus.IN_PROCESS,
    JobStatus.SUCCEEDED: LineStatus.FINISHED,
    JobStatus.DEAD: LineStatus.ERROR,
    JobStatus.CANCELLED: LineStatus.ERROR,
}


def job_ref(job_id: int) -> uuid.UUID:
    """Lines keep the queue's integer job id in their UUID column, losslessly (``UUID(int=id)``)."""
    return uuid.UUID(int=job_id)


def queue_job_id(line: FullSyncLine) -> int | None:
    return line.job_id.int if line.job_id is not None else None


# --- review lines ------------------------------------------------------------------------------------------


def _in_review(mapping: TableMapping) -> bool:
    if mapping.is_temporary or mapping.name in CHILD_MAPPINGS:
        return False
    return not (mapping.name == "SALESORDER-ORDER" and mapping.direction is not Direction.BOTH)


def erp_count(session: Session, mapping: TableMapping) -> int:
    model = erp_model(mapping.erp_table)
    stmt = select(func.count()).select_from(model)
    tree = mapping.erp_filter_tree()
    if tree is not None and mapping.kind is MappingKind.RECORD:
        stmt = stmt.where(filters.erp_condition(tree, model, session.get_bind().dialect.name))
    return int(session.scalar(stmt) or 0)


def _needs_crm_count(mapping: TableMapping) -> bool:
    return mapping.name != "SALESPEOPLE" and mapping.kind is MappingKind.RECORD


def recommend_from(mapping: TableMapping, erp: int, crm_rows: int) -> Recommendation:
    """The initial synchronization recommendation of one mapping (reference §7.3) from the two counts."""
    if mapping.name == "SALESPEOPLE":
        return Recommendation.FULL_SYNC
    if mapping.kind is MappingKind.OPTION:
        return Recommendation.COUPLE if erp else Recommendation.NO_RECORDS
    if mapping.name == "CURRENCY":  # the org always has its base currency
        return Recommendation.FULL_SYNC if crm_rows <= 1 else Recommendation.COUPLE
    if mapping.crm_entity == UNIT_GROUPS:  # the org always has a default unit group
        if not erp and crm_rows <= 1:
            return Recommendation.NO_RECORDS
        return Recommendation.COUPLE if erp and crm_rows > 1 else Recommendation.FULL_SYNC
    if not erp and not crm_rows:
        return Recommendation.NO_RECORDS
    return Recommendation.COUPLE if erp and crm_rows else Recommendation.FULL_SYNC


def recommend(session: Session, crm: Any, mapping: TableMapping) -> Recommendation:
    """``recommend_from`` with both counts read now (ERP: table filter; CRM: ``$count`` in its filter)."""
    crm_rows = crm_side.count_rows(crm, mapping) if _needs_crm_count(mapping) else 0
    return recommend_from(mapping, erp_count(session, mapping), crm_rows)


def generate(
    session: Session, crm: Any, *, reset: bool = False, counts: dict[str, tuple[int, int]] | None = None
) -> list[FullSyncLine]:
    """Create or refresh the review lines: lines not started get fresh dependencies and recommendations.

    Started lines are kept as they are (``reset=True`` deletes every line first: "Reset all"). ``counts``
    (ERP, CRM per mapping name, from ``count_both_sides``) spares reading the CRM inside the transaction.
    """
    if reset:
        for line in session.scalars(select(FullSyncLine)):
            session.delete(line)
        session.flush()
    mappings = [m for m in session.scalars(select(TableMapping).order_by(TableMapping.name)) if _in_review(m)]
    names = {m.name for m in mappings}
    lines = {line.name: line for line in session.scalars(select(FullSyncLine))}
    for name, line in lines.items():
        if name not in names and line.status is LineStatus.NOT_STARTED:
            session.delete(line)
    for mapping in mappings:
        line = lines.get(mapping.name)
        if line is None:
            line = FullSyncLine(name=mapping.name, status=LineStatus.NOT_STARTED)
            session.add(line)
        elif line.status is not LineStatus.NOT_STARTED:
            continue
        line.dependency_filter = "|".join(d for d in mapping.dependencies if d in names)
        line.direction = mapping.direction
        if counts is not None and mapping.name in counts:
            line.recommendation = recommend_from(mapping, *counts[mapping.name])
        else:
            line.recommendation = recommend(session, crm, mapping)
    session.flush()
    return ordered(session)


def count_both_sides(sessions: sessionmaker[Session], crm: Any) -> dict[str, tuple[int, int]]:
    """(ERP, CRM) record counts of every mapping in the review; the CRM is read with no transaction open."""
    with transaction(sessions) as session:
        mappings = [m for m in session.scalars(select(TableMapping)) if _in_review(m)]
        erp = {m.name: erp_count(session, m) for m in mappings}
    return {m.name: (erp[m.name], crm_side.count_rows(crm, m) if _needs_crm_count(m) else 0) for m in mappings}


def ordered(session: Session) -> list[FullSyncLine]:
    """All lines, each after the lines it depends on (then by name); a dependency cycle is refused."""
    lines = {line.name: line for line in session.scalars(select(FullSyncLine).order_by(FullSyncLine.name))}
    out: list[FullSyncLine] = []
    state: dict[str, int] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise Conflict(f"The full synchronization lines depend on each other: {' -> '.join((*path, name))}.",
                           fix="Correct the dependency filters of these mappings.")  # fmt: skip
        state[name] = 1
        for dep in lines[name].dependencies:
            if dep in lines:
                visit(dep, (*path, name))
        state[name] = 2
        out.append(lines[name])

    for name in lines:
        visit(name, ())
    return out


def recommend_full(session: Session, name: str) -> FullSyncLine:
    """Turn a line not started yet into a full synchronization ("Recommend full synchronization")."""
    line = _line(session, name)
    if line.status is not LineStatus.NOT_STARTED:
        raise Conflict(f"Line {name} has already been started.", record=name, fix="Restart it instead.")
    line.recommendation = Recommendation.FULL_SYNC
    return line


def _line(session: Session, name: str) -> FullSyncLine:
    line = session.get(FullSyncLine, name)
    if line is None:
        raise NotFound(f"There is no full synchronization line {name!r}.", record=name,
                       fix="Generate the review lines first.")  # fmt: skip
    return line


# --- start ------------------------------------------------------------------------------------------------


def start(session: Session, names: list[str] | None = None) -> list[FullSyncLine]:
    """Queue the lines not started yet (all, or ``names``) in dependency order; returns the lines started.

    Each job depends on the unfinished jobs of the lines it depends on; a *No records found* line has
    nothing to do and counts as done. A mapping whose full synchronization is already queued or running
    is not queued twice.
    """
    started: list[FullSyncLine] = []
    by_name = {line.name: line for line in ordered(session)}
    for line in by_name.values():
        if line.status is not LineStatus.NOT_STARTED or (names is not None and line.name not in names):
            continue
        line.started_at, line.finished_at = utcnow(), None
        line.to_crm_job_id = line.from_crm_job_id = None
        line.to_crm_status = line.from_crm_status = PassStatus.NONE
        if line.recommendation in (None, Recommendation.NO_RECORDS):
            line.status, line.finished_at = LineStatus.FINISHED, utcnow()
            started.append(line)
            continue
        waits = [queue_job_id(by_name[d]) for d in line.dependencies if d in by_name]
        kind = FULL_SYNC_JOB if line.recommendation is Recommendation.FULL_SYNC else COUPLE_JOB
        spec = JobSpec(
            kind,
            {"mapping": line.name},
            dedup_key=f"full-sync:{line.name}",
            serial_key=line.name,
            hold_key=line.name,
            max_attempts=2,
            rerun_delay_s=30,
            depends_on=[w for w in waits if w is not None],
        )
        job_id, _ = store.enqueue(session, spec)
        store.hold_entry(session, line.name)  # the recurring run waits for the line, then continues from it (F3)
        line.job_id, line.status = job_ref(job_id), LineStatus.READY
        started.append(line)
    session.flush()
    return started


def restart(session: Session, name: str) -> FullSyncLine:
    """Run a finished or failed line again.

    A failed line's job gets a fresh set of attempts, so the lines waiting for it start when it succeeds;
    a finished line gets a new job.
    """
    line = _line(session, name)
    refresh(session)
    if line.status in (LineStatus.READY, LineStatus.IN_PROCESS):
        raise Conflict(f"Line {name} is still running.", record=name, fix="Wait until it has finished.")
    job_id = queue_job_id(line)
    job = session.get(Job, job_id) if job_id is not None else None
    line.started_at, line.finished_at = utcnow(), None
    line.to_crm_job_id = line.from_crm_job_id = None
    line.to_crm_status = line.from_crm_status = PassStatus.NONE
    if job is not None and store.retry_dead(session, job.id):
        job.external_id = None  # a scale-out runner sends it again
        line.status = LineStatus.READY
        session.flush()
        return line
    line.status, line.job_id = LineStatus.NOT_STARTED, None
    session.flush()
    start(session, [name])
    return line


# --- progress ---------------------------------------------------------------------------------------------


def _pass(session: Session, line: FullSyncLine, direction: Direction, job_id: uuid.UUID | None):
    """The line's pass in ``direction``: its stored job, or the newest job of the mapping since the start."""
    job = session.get(SyncJob, job_id) if job_id is not None else None
    if job is None and line.started_at is not None:
        job = session.scalars(
            select(SyncJob)
            .where(SyncJob.mapping_name == line.name, SyncJob.direction == direction,
                   SyncJob.started_at >= line.started_at)
            .order_by(SyncJob.started_at.desc())
            .limit(1)
        ).first()  # fmt: skip
    if job is None:
        return None, PassStatus.NONE
    if job.finished_at is None:
        return job, PassStatus.IN_PROCESS
    return job, PassStatus.ERROR if job.failed else PassStatus.SUCCESS


def refresh(session: Session) -> list[FullSyncLine]:
    """Bring every started line up to date from the job queue and the synchronization log."""
    lines = ordered(session)
    for line in lines:
        job_id = queue_job_id(line)
        if job_id is not None:
            job = session.get(Job, job_id)
            line.status = LineStatus.ERROR if job is None else _LINE_STATUS[job.status]
            if line.status in (LineStatus.FINISHED, LineStatus.ERROR) and line.finished_at is None:
                line.finished_at = job.finished_at if job is not None and job.finished_at else utcnow()
        if line.started_at is None:
            continue
        to_job, line.to_crm_status = _pass(session, line, Direction.TO_CRM, line.to_crm_job_id)
        from_job, line.from_crm_status = _pass(session, line, Direction.FROM_CRM, line.from_crm_job_id)
        line.to_crm_job_id = to_job.id if to_job is not None else None
        line.from_crm_job_id = from_job.id if from_job is not None else None
    session.flush()
    return lines


def _counts(session: Session, job_id: uuid.UUID | None) -> dict[str, int] | None:
    job = session.get(SyncJob, job_id) if job_id is not None else None
    return job.counts if job is not None else None


def _problem(session: Session, line: FullSyncLine) -> str | None:
    """What would make a line not started fail: a *Couple records* line without matching criteria."""
    if line.status is not LineStatus.NOT_STARTED or line.recommendation is not Recommendation.COUPLE:
        return None
    mapping = session.get(TableMapping, line.name)
    if mapping is None or mapping.kind is not MappingKind.RECORD:
        return None
    if any(r.use_for_matching for r in mapping.field_mappings):
        return None
    return "no field is marked for match-based coupling: mark the criteria, or recommend full synchronization"


def progress(session: Session) -> list[dict[str, Any]]:
    """The review as the page and the CLI show it: one dict per line, refreshed from the jobs."""
    out = []
    for line in refresh(session):
        job_id = queue_job_id(line)
        job = session.get(Job, job_id) if job_id is not None else None
        out.append({
            "name": line.name,
            "dependencies": line.dependencies,
            "direction": line.direction.value,
            "recommendation": line.recommendation.value if line.recommendation else None,
            "status": line.status.value,
            "job_id": job_id,
            "job_error": job.last_error if job is not None and job.status is JobStatus.DEAD else None,
            "to_crm": {"job": str(line.to_crm_job_id) if line.to_crm_job_id else None,
                       "status": line.to_crm_status.value, "counts": _counts(session, line.to_crm_job_id)},
            "from_crm": {"job": str(line.from_crm_job_id) if line.from_crm_job_id else None,
                         "status": line.from_crm_status.value, "counts": _counts(session, line.from_crm_job_id)},
            "started_at": line.started_at.isoformat() if line.started_at else None,
            "finished_at": line.finished_at.isoformat() if line.finished_at else None,
            "problem": _problem(session, line),
        })  # fmt: skip
    return out


def detail(session: Session, name: str) -> dict[str, Any]:
    """Drill-down of one line: its synchronization jobs since it started, with their errors."""
    line = _line(session, name)
    jobs = []
    if line.started_at is not None:
        stmt = (
            select(SyncJob)
            .where(SyncJob.mapping_name == name, SyncJob.started_at >= line.started_at)
            .order_by(SyncJob.started_at)
        )
        for job in session.scalars(stmt):
            jobs.append({
                "id": str(job.id), "type": job.type.value, "direction": job.direction.value if job.direction else None,
                "started_at": job.started_at.isoformat(),
                "finished_at": job.finished_at.isoformat() if job.finished_at else None,
                "message": job.message, **{c: getattr(job, c) for c in COUNTERS},
                "errors": [{"source": e.source, "destination": e.destination, "message": e.message,
                            "detail": e.detail} for e in job.errors[:200]],
            })  # fmt: skip
    queue_id = queue_job_id(line)
    job = session.get(Job, queue_id) if queue_id is not None else None
    return {
        "name": name,
        "status": line.status.value,
        "job": None if job is None else {"id": job.id, "status": job.status.value, "attempts": job.attempts,
                                         "last_error": job.last_error},
        "sync_jobs": jobs,
    }  # fmt: skip
