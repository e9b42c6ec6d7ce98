"""Secrets: plain values in the local stage, SSM SecureString parameters when deployed.

The voice webhook needs the Twilio auth token to check a request's signature, and Twilio
waits 15 s for it, so SSM is read within short limits: a client of our own with short
connect and read timeouts and few attempts (``SSM_*`` settings), never botocore's defaults,
which retry for many seconds (and wait up to a second after throttling even when asked for
two attempts, so ``_fetch`` retries itself). A value is read once per container and again every
``SECRETS_REFRESH_SECONDS``, so a rotated secret is picked up without a redeploy. A refresh
that fails keeps the last good value, and is not tried again for ``SECRETS_RETRY_SECONDS``,
so a slow SSM costs one request its limits, not every request.

Only a container that never had the value raises ``SecretUnavailable`` (a 503), and each of
its requests tries again within the same limits: the Twilio routes then answer without
verifying the request and write nothing (``chalicelib/routes/twilio_hooks.py``).

The bootstrap API key is the exception to "keep the last good value": when SSM answers that
its parameter does not exist (``ParameterNotFound``) or that this role may not read it
(``AccessDeniedException``), those are answers, not failures: deleting the parameter (or
denying access to it) is how an owner revokes that key. The cached key is dropped and no
bootstrap key is accepted (``api_key()`` is ``None``; stored keys still work) until SSM gives
the value again; that answer is itself kept for ``SECRETS_RETRY_SECONDS``, so a flood of wrong
keys costs one SSM read a minute, not one each. Throttling, 5xx, timeouts and network errors
still keep the last good key. The Twilio auth token keeps its last good value on every error:
it verifies calls, and a call is forwarded whatever happens; a wrong or missing token would not
stop forwarding, only make every call unverified and unstored.

(Powertools parameters caches too, but once its ``max_age`` is past a failed read raises
instead of keeping the last good value; given this client, it would add nothing else here.)
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from chalicelib.core import aws, clock
from chalicelib.core.errors import SecretUnavailable
from chalicelib.core.observability import logger
from chalicelib.core.settings import get_settings


@dataclass
class _Entry:
    value: str | None  # None: SSM said the parameter is gone or not ours to read (revocable secrets only)
    read_again_at: float  # seconds, from _now()


_cache: dict[str, _Entry] = {}
_lock = threading.Lock()


def _now() -> float:
    """Seconds from the one injectable clock (``chalicelib/core/clock.py``), so tests move a cached value's
    age as they move everything else's. A wall clock, not a monotonic one: a step of the container's
    clock moves a refresh by that much, harmless against intervals of minutes."""
    return clock.now_ms() / 1000


def _client(patient: bool = False) -> Any:
    """An SSM client with this deployment's limits (deployed stages only: the local stage's secrets
    are plain values).

    ``patient``: the management API and background work (alert channels' secrets), which may
    wait as long as their other storage requests do (``STORE_*`` timeouts).
    """
    return aws.client("ssm", aws.patient() if patient else aws.voice(), endpoint=get_settings().ssm_endpoint)


RETRY_PAUSE_SECONDS = 0.05
_RETRIED_CODES = {"ThrottlingException", "ThrottledException", "InternalServerError", "ServiceUnavailable"}


class _NotFound(Exception):
    """A parameter GetParameters named as invalid: the same answer as GetParameter's ParameterNotFound."""

    response = {"Error": {"Code": "ParameterNotFound"}}


def _group(name: str) -> tuple[str, ...]:
    """The parameters read together with ``name``: the voice path's two (the Twilio auth token and
    the caller-hash key ring) are one GetParameters request, so keyed caller hashes cost the voice
    webhook no request of its own; any other parameter alone."""
    s = get_settings()
    voice = tuple(p for p in (s.twilio_auth_token_param, s.caller_pepper_param) if p)
    return voice if name in voice else (name,)


def _fetch(names: tuple[str, ...], patient: bool = False) -> dict[str, str]:
    """One read of ``names`` (GetParameter for one, GetParameters for more), tried again at once
    (``SSM_MAX_ATTEMPTS``) when SSM refused or failed fast: throttling, a 5xx, a refused
    connection. A timeout is not tried again on this request (SSM is slow, not failing): that
    would double the wait; the next request tries again. The values SSM gave, by name (a name
    missing from GetParameters' answer is one SSM does not have)."""
    from botocore.exceptions import ClientError, EndpointConnectionError  # loaded with the client

    attempts = max(1, get_settings().ssm_max_attempts)
    for attempt in range(1, attempts + 1):
        try:
            if len(names) == 1:
                answer = _client(patient).get_parameter(Name=names[0], WithDecryption=True)
                return {names[0]: str(answer["Parameter"]["Value"])}
            many = _client(patient).get_parameters(Names=list(names), WithDecryption=True)
            return {str(p["Name"]): str(p["Value"]) for p in many.get("Parameters", [])}
        except ClientError as exc:
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            code = str(exc.response.get("Error", {}).get("Code"))
            if attempt == attempts or not (code in _RETRIED_CODES or status == 429 or status >= 500):
                raise
        except EndpointConnectionError:
            if attempt == attempts:
                raise
        time.sleep(RETRY_PAUSE_SECONDS)
    raise AssertionError("unreachable: the last attempt returns or raises")


# SSM's answers that the parameter is not there for this role: they revoke a revocable secret.
_REVOKING_CODES = {"ParameterNotFound", "AccessDeniedException"}


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)  # botocore's ClientError; anything else has none
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def _from_ssm(name: str, what: str, patient: bool = False) -> str:
    value = _lookup(name, what, patient, revocable=False)
    assert value is not None  # only a revocable secret is ever cached as absent
    return value


def _lookup(name: str, what: str, patient: bool, *, revocable: bool) -> str | None:
    """The parameter's value, cached; ``None`` only for a ``revocable`` one SSM says is gone or denied."""
    entry = _cache.get(name)
    if entry is not None and _now() < entry.read_again_at:
        return entry.value
    with _lock:  # one refresh at a time per process; the others wait for it, within its limits
        entry = _cache.get(name)
        now = _now()
        if entry is not None and now < entry.read_again_at:
            return entry.value
        s = get_settings()
        try:
            values = _fetch(_group(name), patient)
            if name not in values:
                raise _NotFound(name)
            value = values[name]
        except Exception as exc:  # whatever SSM or the network did: timeouts, throttling, 5xx, denied
            if revocable and _error_code(exc) in _REVOKING_CODES:
                logger.warning(
                    "SSM says a revocable secret is gone or not readable; none is accepted until it is back",
                    parameter=name,
                    code=_error_code(exc),
                )
                _cache[name] = _Entry(None, now + s.secrets_retry_seconds)
                return None
            if entry is None:
                logger.warning("reading a secret from SSM failed and none is cached", parameter=name, error=repr(exc))
                raise SecretUnavailable(f"{what} could not be read from SSM") from None
            # The last answer stands: a good value, or (revocable) "gone": a failing SSM revives nothing.
            logger.warning("refreshing a secret from SSM failed; the last good value is kept", parameter=name)
            entry.read_again_at = now + s.secrets_retry_seconds
            return entry.value
        for read, got in values.items():  # the companion read in the same request is as fresh
            _cache[read] = _Entry(got, now + s.secrets_refresh_seconds)
        return value


def _read(plain: str, param: str, what: str) -> str:
    if param:
        return _from_ssm(param, what)
    if plain:
        return plain
    raise SecretUnavailable(f"{what} is not configured")


def twilio_auth_token() -> str:
    s = get_settings()
    return _read(s.twilio_auth_token, s.twilio_auth_token_param, "the Twilio auth token")


def caller_pepper() -> str:
    """The caller-hash key ring (``chalicelib/core/callerkeys.py``): read with the Twilio auth token
    in one SSM request on deployed stages, kept on errors like it (losing it would make every stored
    caller hash useless, so nothing ever replaces it but ``calltracking caller-key rotate``)."""
    s = get_settings()
    return _read(s.caller_pepper, s.caller_pepper_param, "the caller-hash key")


def api_key() -> str | None:
    """The bootstrap API key; ``None`` when its SSM parameter is gone or access to it is denied
    (revoked: see the module's docstring). ``SecretUnavailable`` when it cannot be read and none is
    cached, or none is configured."""
    s = get_settings()
    if s.api_key_param:
        return _lookup(s.api_key_param, "the API key", False, revocable=True)
    return _read(s.api_key, "", "the API key")


def clear_cache() -> None:
    """Forget every value and client (tests; a new container starts like this)."""
    with _lock:
        _cache.clear()
    aws.forget("ssm")


# --- secrets the product writes: alert channels' Slack webhook URLs and Telegram bot tokens ---


def parameter(name: str, what: str) -> str:
    """A SecureString parameter's value, read and cached like the deployment's own secrets
    (background work: the patient client)."""
    return _from_ssm(name, what, patient=True)


def put_parameter(name: str, value: str) -> None:
    """Store ``value`` as a SecureString parameter (replacing any), and remember it here."""
    _client(patient=True).put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
    with _lock:
        _cache[name] = _Entry(value, _now() + get_settings().secrets_refresh_seconds)


def delete_parameter(name: str) -> None:
    """Remove a parameter (one that is already gone is fine)."""
    from botocore.exceptions import ClientError  # loaded with the client

    with _lock:
        _cache.pop(name, None)
    try:
        _client(patient=True).delete_parameter(Name=name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ParameterNotFound":
            raise
