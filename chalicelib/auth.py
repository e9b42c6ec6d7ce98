"""API keys for the management API: ``Authorization: Bearer <key>``, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac

from chalicelib.errors import Unauthorized
from chalicelib.secrets import api_key


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8")).digest()


def identify(authorization: str | None) -> str:
    """The identity of the key that authorised the request (never the key itself); 401 if none did."""
    if not authorization:
        raise Unauthorized("send an API key as 'Authorization: Bearer <key>'")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send the API key as 'Authorization: Bearer <key>'")
    # Comparing digests keeps the comparison constant-time whatever the lengths.
    if not hmac.compare_digest(_digest(token.strip()), _digest(api_key())):
        raise Unauthorized("the API key is not valid")
    return "key:" + hashlib.sha256(token.strip().encode()).hexdigest()[:8]
