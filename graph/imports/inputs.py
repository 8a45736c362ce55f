import strawberry


@strawberry.input
class ColumnMappingInput:
    column: str = strawberry.field(description="A column header of the uploaded file.")
    field: str = strawberry.field(description="The name of the field it fills (ImportJob.fields).")


@strawberry.input
class StartImportInput:
    import_job_id: strawberry.ID
    mapping: list[ColumnMappingInput] | None = strawberry.field(
        default=None, description="Leave out to use the job's suggestedMapping."
    )
    dry_run: bool = strawberry.field(
        default=True, description="Check every row and count what would change; write nothing."
    )
