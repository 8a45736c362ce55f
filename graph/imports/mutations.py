"""Starting a dry run or a run of an uploaded file (files are uploaded over HTTP: upload.py)."""

import strawberry
from strawberry.types import Info

from graph.core.mutations import authorize_mutation, not_found, run_in_transaction
from graph.core.types import UserError
from graph.imports.inputs import StartImportInput
from graph.imports.queries import current_import_job
from graph.imports.types import ImportJob
from models.imports import jobs as domain
from models.imports import runner as import_runner
from policies.authorizer import WRITE
from policies.coordinates import IMPORT_COORDINATES


@strawberry.type
class ImportJobPayload:
    import_job: ImportJob | None
    errors: list[UserError]


@strawberry.type
class ImportMutations:
    @strawberry.mutation(
        description="Checks (dryRun: true) or imports (dryRun: false) an uploaded file in the "
        "background; poll importJob for progress. A run writes every row or none."
    )
    def start_import(self, info: Info, input: StartImportInput) -> ImportJobPayload:
        context = info.context
        job = current_import_job(context, input.import_job_id)
        if job is None:
            return ImportJobPayload(import_job=None, errors=not_found("importJobId", "import"))
        authorize_mutation(info, workgroup_id=job.workgroup_id, inputs=input)
        context.scope.require(
            IMPORT_COORDINATES[job.kind], workgroup_id=job.workgroup_id, action=WRITE
        )
        mapping = None if input.mapping is None else [(m.column, m.field) for m in input.mapping]
        fields = [f for _, f in mapping or domain.suggested_mapping(job.kind, job.columns).items()]
        # An import adds and changes records through the fields its columns fill: the viewer
        # must be allowed each of those writes in the workgroup, as if made one by one.
        for coordinate in domain.required_coordinates(job.kind, fields):
            context.scope.require(coordinate, workgroup_id=job.workgroup_id, action=WRITE)
        started, errors = run_in_transaction(
            info,
            lambda: domain.start_import(
                session=context.session, job=job, mapping=mapping, dry_run=input.dry_run
            ),
        )
        if started is not None:
            import_runner.run_in_background(
                engine=context.session.get_bind(),
                job_id=started.id,
                batch_size=context.settings.import_batch_size,
            )
        return ImportJobPayload(import_job=started, errors=errors)
