"""The one cursor codec of every paged list: DynamoDB's resume key plus where it applies, as an
opaque URL-safe token that is checked before anything in it goes back to DynamoDB.

A token is unpadded URL-safe base64 of ``{<part field>: part, "k": ExclusiveStartKey}``: the
part is the partition the key belongs to (a month, a caller), an empty key means "the start
of that part". Both lists that had their own copy keep their tokens' wire format (the API's
calls log names the part ``m``, the dashboard's log ``p``), so cursors handed out before this
codec still work. A token that is not valid base64 or JSON, names a part the list does not
have, or carries a key that ``key_ok`` refuses is a 400 with the list's own message, never a
500 and never a request.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from chalicelib.core.errors import BadRequest


@dataclass(frozen=True)
class CursorCodec:
    """How one list writes and checks its cursors.

    ``part_field``: the token's name for the part; ``refusal``: the 400's message for a token
    this list did not give out; ``key_ok(key, part)``: whether a non-empty key is a well-formed
    resume key of ``part``."""

    part_field: str
    refusal: str
    key_ok: Callable[[dict[str, Any], str], bool]

    def encode(self, part: str, key: dict[str, Any]) -> str:
        data = {self.part_field: part, "k": key}
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    def decode(self, token: str, parts: Collection[str] | None = None) -> tuple[str, dict[str, Any]]:
        """``(part, key)`` of a token; ``parts``, when given, are the only parts accepted."""
        try:
            data = json.loads(base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)))
            part, key = data[self.part_field], data["k"]
            if not isinstance(part, str) or not isinstance(key, dict):
                raise ValueError
            if parts is not None and part not in parts:
                raise ValueError
            if key and not self.key_ok(key, part):
                raise ValueError
            return part, key
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, UnicodeError):
            raise BadRequest(self.refusal) from None
