"""The management API of the domain (API key required): channels, pools, numbers, calls, blocked callers.

Each integration (and feature shaped like one: reports, recordings, events) serves its own routes
from its folder's ``routes.py``, registered by ``app.py`` from the wiring list."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib import calls
from chalicelib.core import clock
from chalicelib.core.context import RequestContext, log_change
from chalicelib.core.errors import BadRequest
from chalicelib.core.validation import json_body
from chalicelib.routes import lazy_module
from chalicelib.routes.http import Headers, caller, json_response, query
from chalicelib.voice import blocklist

if TYPE_CHECKING:
    from chalicelib import audit, callback_dial, callbacks, channels, numbers, pools
    from chalicelib.recordings import greetings
    from chalicelib.reports import calllog, outcomes, sizing
else:  # management only: loaded on first use (see lazy_module)
    callbacks = lazy_module("chalicelib.callbacks")
    callback_dial = lazy_module("chalicelib.callback_dial")
    audit = lazy_module("chalicelib.audit")
    channels = lazy_module("chalicelib.channels")
    numbers = lazy_module("chalicelib.numbers")
    pools = lazy_module("chalicelib.pools")
    calllog = lazy_module("chalicelib.reports.calllog")
    outcomes = lazy_module("chalicelib.reports.outcomes")
    sizing = lazy_module("chalicelib.reports.sizing")
    greetings = lazy_module("chalicelib.recordings.greetings")

bp = Blueprint(__name__)


def _ctx() -> RequestContext:
    """Who is asking: the API key the middleware identified (and whose scope it checked)."""
    return caller(bp.current_request)


def _body() -> dict:  # type: ignore[type-arg]
    req = bp.current_request
    return json_body(req.raw_body, req.headers.get("content-type"))


def _upload() -> object:
    """A greeting upload's ``audio`` (base64; see ``chalicelib.recordings.greetings`` for why)."""
    req = bp.current_request
    return json_body(req.raw_body, req.headers.get("content-type"), max_bytes=greetings.MAX_BODY_BYTES).get("audio")


@bp.route("/v1/channels", methods=["POST"])
def create_channel() -> Response:
    return json_response(channels.create(_body(), ctx=_ctx()), 201)


@bp.route("/v1/channels", methods=["GET"])
def list_channels() -> Response:
    return json_response({"channels": channels.list_all(ctx=_ctx())})


@bp.route("/v1/channels/{channel_id}", methods=["GET"])
def get_channel(channel_id: str) -> Response:
    return json_response(channels.get(channel_id, ctx=_ctx()))


@bp.route("/v1/channels/{channel_id}", methods=["PATCH"])
def update_channel(channel_id: str) -> Response:
    return json_response(channels.update(channel_id, _body(), ctx=_ctx()))


@bp.route("/v1/channels/{channel_id}", methods=["DELETE"])
def delete_channel(channel_id: str) -> Response:
    channels.delete(channel_id, ctx=_ctx())
    greetings.forget_quietly("channel", channel_id)
    return Response(body="", status_code=204)


@bp.route("/v1/channels/{channel_id}/greeting", methods=["PUT"])
def put_channel_greeting(channel_id: str) -> Response:
    return json_response(greetings.upload("channel", channel_id, _upload(), ctx=_ctx()))


@bp.route("/v1/channels/{channel_id}/greeting", methods=["DELETE"])
def delete_channel_greeting(channel_id: str) -> Response:
    return json_response(greetings.remove("channel", channel_id, ctx=_ctx()))


@bp.route("/v1/numbers", methods=["POST"])
def provision_number() -> Response:
    return json_response(numbers.provision(_body(), ctx=_ctx()), 201)


@bp.route("/v1/numbers", methods=["GET"])
def list_numbers() -> Response:
    q = query(bp.current_request)
    return json_response(
        {
            "numbers": numbers.list_all(
                status=q.get("status"), channel_id=q.get("channel_id"), pool_id=q.get("pool_id"), ctx=_ctx()
            )
        }
    )


@bp.route("/v1/numbers/{number}", methods=["GET"])
def get_number(number: str) -> Response:
    return json_response(numbers.get(number, ctx=_ctx()))


@bp.route("/v1/numbers/{number}", methods=["DELETE"])
def release_number(number: str) -> Response:
    return json_response(numbers.release(number, ctx=_ctx()))


@bp.route("/v1/calls", methods=["GET"])
def list_calls() -> Response:
    req = bp.current_request
    q = query(req)
    if q.get("format") == "csv" or "text/csv" in (req.headers.get("accept") or ""):
        body, cursor = calllog.calls_csv(q, ctx=_ctx())
        log_change(_ctx(), "calls.export", format="csv")
        headers: Headers = {
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="calls.csv"',
        }
        if cursor:
            headers["X-Next-Cursor"] = cursor
        return Response(body=body, status_code=200, headers=headers)
    if q.get("format") not in (None, "json"):
        raise BadRequest("'format' must be json or csv")
    return json_response(calllog.list_calls(q, ctx=_ctx()))


@bp.route("/v1/texts", methods=["GET"])
def list_texts() -> Response:
    return json_response(calllog.list_texts(query(bp.current_request), ctx=_ctx()))


@bp.route("/v1/callbacks", methods=["GET"])
def list_callbacks() -> Response:
    return json_response(callbacks.api_list(query(bp.current_request)))


@bp.route("/v1/calls/{sid}", methods=["GET"])
def get_call(sid: str) -> Response:
    return json_response(calls.get(sid, ctx=_ctx()))


@bp.route("/v1/calls/{sid}", methods=["PATCH"])
def update_call(sid: str) -> Response:
    return json_response(calls.to_dict(outcomes.set_outcome(sid, _body(), ctx=_ctx())))


@bp.route("/v1/calls/{sid}/call-back", methods=["POST"])
def call_back(sid: str) -> Response:
    """Ring the ``phone`` in the body (the API client's own: an API key has no phone), then the
    caller, showing the tracking number; the original call with ``called_back`` (202: ringing)."""
    return json_response(callback_dial.call_back(sid, _body().get("phone"), ctx=_ctx()), 202)


@bp.route("/v1/audit", methods=["GET"])
def list_audit() -> Response:
    """The audit log (admin scope); read only: no route writes, edits or deletes an entry."""
    return json_response(audit.entries(query(bp.current_request), ctx=_ctx()))


@bp.route("/v1/blocked-callers", methods=["GET"])
def get_blocked_callers() -> Response:
    return json_response({"callers": blocklist.entries()})


@bp.route("/v1/blocked-callers", methods=["PUT"])
def put_blocked_callers() -> Response:
    return json_response(blocklist.replace(_body(), ctx=_ctx()))


@bp.route("/v1/pools", methods=["POST"])
def create_pool() -> Response:
    return json_response(pools.create(_body(), ctx=_ctx()), 201)


@bp.route("/v1/pools", methods=["GET"])
def list_pools() -> Response:
    return json_response({"pools": pools.list_all(ctx=_ctx())})


@bp.route("/v1/pools/{pool_id}", methods=["GET"])
def get_pool(pool_id: str) -> Response:
    return json_response(pools.status(pool_id, ctx=_ctx()))


@bp.route("/v1/pools/{pool_id}/sizing", methods=["GET"])
def pool_sizing(pool_id: str) -> Response:
    target = sizing.parse_target(query(bp.current_request).get("target"))
    return json_response(sizing.pool_sizing(pool_id, clock.now_ms(), target))


@bp.route("/v1/pools/{pool_id}", methods=["PATCH"])
def update_pool(pool_id: str) -> Response:
    return json_response(pools.update(pool_id, _body(), ctx=_ctx()))


@bp.route("/v1/pools/{pool_id}", methods=["DELETE"])
def delete_pool(pool_id: str) -> Response:
    pools.delete(pool_id, ctx=_ctx())
    greetings.forget_quietly("pool", pool_id)
    return Response(body="", status_code=204)


@bp.route("/v1/pools/{pool_id}/greeting", methods=["PUT"])
def put_pool_greeting(pool_id: str) -> Response:
    return json_response(greetings.upload("pool", pool_id, _upload(), ctx=_ctx()))


@bp.route("/v1/pools/{pool_id}/greeting", methods=["DELETE"])
def delete_pool_greeting(pool_id: str) -> Response:
    return json_response(greetings.remove("pool", pool_id, ctx=_ctx()))
