"""The GraphQL schema, its execution under the authorizer, the HTTP app and the CLI."""
