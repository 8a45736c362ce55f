"""CSV imports: uploaded jobs, the rows they write, the runner."""
