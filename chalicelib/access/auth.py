"""API keys for the management API: ``Authorization: Bearer <key>``, compared in constant time.

Two kinds of key open it: stored keys (``chalicelib/access/apikeys.py``, made with
``calltracking keys``; identity ``key:<key id>``) and the deployment's bootstrap key
(``API_KEY`` / ``API_KEY_PARAM``; identity ``key:`` + 8 hex of its SHA-256). The identity
goes into the logs; the key never does.

``identify`` answers with the request's ``RequestContext``: the identity as ``actor``, the
stored key's name and its scope (``apikeys``: keys stored before scopes are ``admin``). The
bootstrap key is ``admin``: it is the deployment's own, the one that makes the others.
"""

from __future__ import annotations

import hashlib
import hmac

from chalicelib.access import apikeys
from chalicelib.core.context import RequestContext, for_api_key
from chalicelib.core.errors import Unauthorized
from chalicelib.core.secrets import api_key
from chalicelib.core.settings import get_settings


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8")).digest()


def _bootstrap_configured() -> bool:
    s = get_settings()
    return bool(s.api_key or s.api_key_param)


BOOTSTRAP_NAME = "bootstrap"  # the deployment's key has no stored name; this one shows in logs


def identify(authorization: str | None) -> RequestContext:
    """The caller whose key authorised the request (its identity, never the key); 401 if none did."""
    if not authorization:
        raise Unauthorized("send an API key as 'Authorization: Bearer <key>'")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("send the API key as 'Authorization: Bearer <key>'")
    stored = apikeys.authenticate(token)  # None for anything that is not a good stored key
    if stored is not None:
        return for_api_key("key:" + stored.key_id, stored.name, stored.scope)
    # Comparing digests keeps the comparison constant-time whatever the lengths. A deployment
    # may run on stored keys alone, with no bootstrap key configured, and a bootstrap key whose
    # SSM parameter was deleted (or may not be read) is revoked: api_key() is None.
    bootstrap = api_key() if _bootstrap_configured() else None
    if bootstrap is not None and hmac.compare_digest(_digest(token), _digest(bootstrap)):
        return for_api_key("key:" + _digest(token).hex()[:8], BOOTSTRAP_NAME, "admin")
    raise Unauthorized("the API key is not valid")
