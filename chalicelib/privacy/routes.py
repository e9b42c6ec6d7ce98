"""Callers' routes: access and erasure (admin scope), and the jobs that do them for a caller with many calls."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response

from chalicelib.core.lazy import lazy_module
from chalicelib.core.responses import caller, json_response

if TYPE_CHECKING:
    from chalicelib.privacy import jobs
else:  # management only: never on the voice webhook's cold start
    jobs = lazy_module("chalicelib.privacy.jobs")

bp = Blueprint(__name__)


def _answer(status: int, data: dict[str, Any]) -> Response:
    """200 with the answer, or 202 with the job and a ``Location`` to follow."""
    return json_response(data, status, {"Location": data["location"]} if status == 202 else None)


@bp.route("/v1/callers/{number}", methods=["GET"])
def caller_data(number: str) -> Response:
    return _answer(*jobs.access_request(number, ctx=caller(bp.current_request)))


@bp.route("/v1/callers/{number}", methods=["DELETE"])
def erase_caller(number: str) -> Response:
    return _answer(*jobs.erase_request(number, ctx=caller(bp.current_request)))


@bp.route("/v1/callers/jobs/{job_id}", methods=["GET"])
def caller_job(job_id: str) -> Response:
    return json_response(jobs.status(job_id, ctx=caller(bp.current_request)))
