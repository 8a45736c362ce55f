"""Global ids as the API shows them: base64 of "Type:pk" (graph.ids decodes them). Here so that
the domain can record references in API terms (activity records) without importing graph."""

import base64


def encode_id(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def global_id(type_name: str, pk: int | None) -> str | None:
    """The global id of the row, or None for no row."""
    return None if pk is None else encode_id(type_name, pk)
