"""Runs import jobs: in batches, in one transaction, with progress a client can poll.

Progress of a running job is kept in this process (and, on PostgreSQL, also written to the job
row from a second connection after every batch); the rows themselves are written in the run's
own transaction, which commits together with the job's final counts — or not at all.
"""

import logging
import os
import threading
from collections.abc import Iterator
from itertools import islice

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models.audit.activity import record_activity
from models.db import system_session, utcnow
from models.imports.jobs import ERRORS_KEPT, RUNNER, ImportJob, ImportStatus, records
from models.imports.rows import IMPORTERS, ImportConflict, RowError

log = logging.getLogger(__name__)

BATCH = 1000
# Runs are nobody's request: the job was authorised when it was started, and reads and writes
# every row it names (and the jobs of every workgroup, when looking for interrupted ones).
WHY = "an import run, authorised when it was started"
INTERRUPTED = "The import was interrupted before it finished; nothing was written. Start it again."
CHANGED_MEANWHILE = (
    "Some of these customers or contacts were changed while the import ran; nothing was "
    "written. Start it again."
)
UNEXPECTED = "The import failed unexpectedly; nothing was written."

_progress: dict[int, int] = {}  # job id -> rows processed, for jobs running in this process
_slots = threading.BoundedSemaphore(2)  # imports running at once in this process


def progress_of(job_id: int) -> int | None:
    return _progress.get(job_id)


def _batches(rows: Iterator[tuple[int, list[str]]], size: int):
    while batch := list(islice(rows, size)):
        yield batch


def run_in_background(*, engine: Engine, job_id: int, batch_size: int = BATCH) -> threading.Thread:
    thread = threading.Thread(
        target=run_import,
        kwargs={"engine": engine, "job_id": job_id, "batch_size": batch_size},
        name=f"import-{job_id}",
        daemon=True,
    )
    thread.start()
    return thread


def run_import(*, engine: Engine, job_id: int, batch_size: int = BATCH) -> None:
    """Runs a QUEUED job of this process to SUCCEEDED or FAILED."""
    with _slots:
        if not _claim(engine, job_id):
            return
        _progress[job_id] = 0
        try:
            _run(engine, job_id, batch_size)
        except (ImportConflict, IntegrityError) as error:
            # Another change to the same rows committed while the import ran.
            log.warning("import job %s: concurrent change: %s", job_id, error)
            _finish(engine, job_id, status=ImportStatus.FAILED, message=CHANGED_MEANWHILE)
        except Exception:
            log.exception("import job %s failed", job_id)
            _finish(engine, job_id, status=ImportStatus.FAILED, message=UNEXPECTED)
        finally:
            _progress.pop(job_id, None)


def _claim(engine: Engine, job_id: int) -> bool:
    with system_session(engine, WHY) as session:
        claimed = session.execute(
            update(ImportJob)
            .where(
                ImportJob.id == job_id,
                ImportJob.status == ImportStatus.QUEUED.value,
                ImportJob.runner == RUNNER,
            )
            .values(status=ImportStatus.RUNNING.value, started_at=utcnow())
        ).rowcount  # type: ignore[attr-defined]
        session.commit()
    return claimed == 1


def _run(engine: Engine, job_id: int, batch_size: int) -> None:
    with system_session(engine, WHY, expire_on_commit=False) as session:
        job = session.get_one(ImportJob, job_id)
        importer = IMPORTERS[job.kind](session, job)
        created = updated = unchanged = error_count = 0
        kept: list[RowError] = []
        share_progress = engine.dialect.name == "postgresql"
        processed = 0
        analyzed_at = -1  # rows created when the planner's statistics were last refreshed
        for batch in _batches(records(job.content), batch_size):
            if share_progress and created > 2 * max(analyzed_at, batch_size):
                # A bulk load outgrows the statistics the planner has of the table, and it
                # would go on scanning all of a workgroup's rows per look-up.
                importer.refresh_statistics()
                analyzed_at = created
            plan = importer.check(batch)
            error_count += len(plan.errors)
            kept += plan.errors[: max(0, ERRORS_KEPT - len(kept))]
            created += len(plan.creates)
            updated += len(plan.updates)
            unchanged += plan.unchanged
            if not job.dry_run and not error_count:
                importer.write(plan)
                session.flush()
            processed += len(batch)
            _progress[job_id] = processed
            if share_progress:  # another process may be asked; SQLite would wait on our lock
                _report(engine, job_id, processed)
        counts = {
            "processed": processed,
            "created": created,
            "updated": updated,
            "unchanged": unchanged,
            "error_count": error_count,
            "errors": [e.as_dict() for e in kept],
        }
        if job.dry_run or error_count:
            session.rollback()
            status = (
                ImportStatus.FAILED if error_count and not job.dry_run else ImportStatus.SUCCEEDED
            )
            message = (
                f"{error_count} rows have errors; nothing was written."
                if error_count and not job.dry_run
                else None
            )
            _finish(engine, job_id, status=status, message=message, **counts)
            return
        record_activity(
            session=session,
            actor_id=job.created_by,
            workgroup_id=job.workgroup_id,
            action=f"import.{job.kind.lower()}",
            target_type="ImportJob",
            target_id=job.id,
            after={
                "fileName": job.file_name,
                "created": counts["created"],
                "updated": counts["updated"],
                "unchanged": counts["unchanged"],
            },
        )
        _mark_finished(session, job_id, status=ImportStatus.SUCCEEDED, message=None, **counts)
        session.commit()  # the rows, the activity record and the job's outcome together


def _report(engine: Engine, job_id: int, processed: int) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(ImportJob).where(ImportJob.id == job_id).values(processed=processed)
        )


def _mark_finished(session: Session, job_id: int, *, status: ImportStatus, message, **counts):
    session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id)
        .values(status=status.value, message=message, finished_at=utcnow(), **counts)
    )


def _finish(engine: Engine, job_id: int, *, status: ImportStatus, message, **counts) -> None:
    with system_session(engine, WHY) as session:
        _mark_finished(session, job_id, status=status, message=message, **counts)
        session.commit()


# ---------------------------------------------------------------- interrupted jobs


def runner_alive(runner: str | None) -> bool:
    """Whether the process that queued or runs a job may still finish it."""
    if runner is None or runner == RUNNER:
        return True
    host, _, rest = runner.partition(":")
    pid_text, _, _token = rest.partition(":")
    own_host = RUNNER.partition(":")[0]
    if host != own_host:
        return True  # another machine: it cannot be asked from here
    if not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False  # our pid, another start of it: that process is gone
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_interrupted(*, engine: Engine, workgroup_id: int | None = None) -> int:
    """Marks jobs whose process died while they were queued or running as FAILED."""
    with system_session(engine, WHY) as session:
        query = select(ImportJob.id, ImportJob.runner).where(
            ImportJob.status.in_([ImportStatus.QUEUED.value, ImportStatus.RUNNING.value])  # type: ignore[attr-defined]
        )
        if workgroup_id is not None:
            query = query.where(ImportJob.workgroup_id == workgroup_id)
        dead = [
            (job_id, runner)
            for job_id, runner in session.execute(query)
            if not runner_alive(runner)
        ]
        for job_id, runner in dead:
            session.execute(
                update(ImportJob)
                .where(
                    ImportJob.id == job_id,
                    ImportJob.runner == runner,
                    ImportJob.status.in_([ImportStatus.QUEUED.value, ImportStatus.RUNNING.value]),  # type: ignore[attr-defined]
                )
                .values(status=ImportStatus.FAILED.value, message=INTERRUPTED, finished_at=utcnow())
            )
        session.commit()
    return len(dead)
