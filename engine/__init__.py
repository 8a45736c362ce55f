"""The doors to library internals: every use of graphql-core, Strawberry, SQLAlchemy or uvicorn
beyond their documented public API lives in this package."""
