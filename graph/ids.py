"""Opaque global ids: base64 of "Type:pk". Anything undecodable names no object."""

import base64
import binascii
import re

from models.core.global_ids import encode_id as encode_id

_PK = re.compile(r"[0-9]{1,18}")  # ASCII digits only: str.isdigit() also admits "²"
_LARGEST_PK = 2**31 - 1  # primary keys are 32-bit integers on PostgreSQL
NO_ROW = -1


def decode_id(value: str | None, expected_type: str | None = None) -> tuple[str, int] | None:
    """(type, pk), or None when `value` is not an id of `expected_type`."""
    if not value or len(value) > 100:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    type_name, sep, pk = raw.partition(":")
    if not sep or not _PK.fullmatch(pk):
        return None
    if expected_type is not None and type_name != expected_type:
        return None
    number = int(pk)
    # A number no table can hold names no object; -1 keeps it comparable in SQL, where
    # PostgreSQL would otherwise reject it as out of range for an integer column.
    return type_name, number if number <= _LARGEST_PK else NO_ROW


def decode_pk(value: str | None, expected_type: str) -> int | None:
    decoded = decode_id(value, expected_type)
    return None if decoded is None else decoded[1]
