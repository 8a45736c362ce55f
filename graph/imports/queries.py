import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.context import Context
from graph.ids import decode_pk
from graph.imports.types import ImportJob
from models.imports.jobs import ImportJob as ImportJobRow
from models.imports.jobs import ImportStatus
from models.imports.runner import fail_interrupted, runner_alive


def import_job_by_id(context: Context, global_id: str) -> ImportJobRow | None:
    pk = decode_pk(global_id, "ImportJob")
    if pk is None:
        return None
    return context.session.execute(
        select(ImportJobRow).where(ImportJobRow.id == pk)
    ).scalar_one_or_none()


def current_import_job(context: Context, global_id: str) -> ImportJobRow | None:
    """The job, marked FAILED first if the process that was running it is gone."""
    job = import_job_by_id(context, global_id)
    if (
        job is not None
        and job.status in (ImportStatus.QUEUED.value, ImportStatus.RUNNING.value)
        and not runner_alive(job.runner)
    ):
        # Said in a transaction of its own: the request's session may be read-only.
        fail_interrupted(engine=context.session.get_bind(), workgroup_id=job.workgroup_id)
        context.session.refresh(job)
    return job


@strawberry.type
class ImportQueries:
    @strawberry.field(description="An import job by id; null if absent or not visible.")
    def import_job(self, info: Info, id: strawberry.ID) -> ImportJob | None:
        return current_import_job(info.context, id)  # type: ignore[return-value]
