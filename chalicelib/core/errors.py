"""Domain errors that map to a 4xx JSON answer: one class, mapped to HTTP in one place (app.py)."""

from __future__ import annotations

from typing import Any

from chalice import ChaliceUnhandledError  # type: ignore[attr-defined]


class ApiError(ChaliceUnhandledError):  # type: ignore[misc]
    """An error the client caused; ``status`` and ``code`` say which.

    It derives from ``ChaliceUnhandledError`` so that Chalice lets it reach the
    error middleware instead of turning it into its own 500 body.
    """

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            err["details"] = self.details
        return {"error": err}


class BadRequest(ApiError):
    status = 400
    code = "bad_request"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"
    headers = {"WWW-Authenticate": 'Bearer realm="calltracking"'}


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"


class UpstreamError(ApiError):
    """The telephony provider refused or failed; the message says what it said."""

    status = 502
    code = "telephony_error"


class StorageUnavailable(ApiError):
    """DynamoDB could not take a callback's write: 503 so that the sender retries it."""

    status = 503
    code = "storage_unavailable"
    headers = {"Retry-After": "5"}


class SecretUnavailable(ApiError):
    """A secret (the Twilio auth token, the bootstrap API key) could not be read and none is cached."""

    status = 503
    code = "secret_unavailable"
    headers = {"Retry-After": "5"}


class RecordingUnavailable(ApiError):
    """A recording could not be copied from the telephony provider (or to S3) on request: try again."""

    status = 503
    code = "recording_unavailable"
    headers = {"Retry-After": "10"}


def dynamodb_code(exc: BaseException) -> str | None:
    """The DynamoDB error code behind a PynamoDB exception; ``None`` for timeouts and connection errors.

    (PynamoDB's ``cause_response_code`` raises when the cause is not a ClientError.)
    """
    response = getattr(getattr(exc, "cause", None), "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return str(code) if code is not None else None
