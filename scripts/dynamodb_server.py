"""The embedded DynamoDB: moto's server on loopback, one request at a time.

Serving one request at a time applies writes one by one, as DynamoDB does per item,
so conditional writes are atomic against concurrent clients (moto's threaded server
and its in-process backend do not promise that).

    python scripts/dynamodb_server.py --port 8001
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server


def _journaled_transactions() -> None:
    """TransactWriteItems rolled back from copies of the items it names, not of whole tables.

    moto backs a transaction up with a deep copy of each table it touches, once per item, stream
    records included, so its cost grows with everything the table ever held: 0.5 s a transaction on
    a stack holding a month of calls. The same rollback (those items as they were, the tables'
    stream records as they were) costs a copy of a few items. tests/integration/test_embedded_dynamodb.py.
    """
    import copy as copying

    import moto.dynamodb.models as ddb
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    class _TablesNotCopied:
        """moto's module's ``copy``, minus its whole-table backup (this journal replaces it)."""

        copy = staticmethod(copying.copy)

        @staticmethod
        def deepcopy(obj: Any, memo: Any = None) -> Any:
            return obj if isinstance(obj, Table) else copying.deepcopy(obj, memo)

    ddb.copy = _TablesNotCopied  # type: ignore[assignment]
    moto_transact = ddb.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        items: list[tuple[Any, Any, Any, Any]] = []  # (table, hash, range, the item before or None)
        streams: dict[str, tuple[Any, int]] = {}
        for entry in transact_items:
            op = next(iter(entry.values()), {})
            table = self.tables.get(op.get("TableName")) if isinstance(op, dict) else None
            key = (op.get("Item") if "Item" in op else op.get("Key")) if table is not None else None
            if table is None or not key or any(k not in key for k in table.table_key_attrs):
                continue  # moto refuses it before writing anything
            try:
                hash_key = DynamoType(key[table.hash_key_attr])
                range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
                before = table.get_item(hash_key, range_key)
            except Exception:
                continue  # a malformed key: moto's own validation answers it, before any write
            items.append((table, hash_key, range_key, copying.deepcopy(before)))
            if table.stream_shard is not None:
                streams.setdefault(table.name, (table.stream_shard, len(table.stream_shard.items)))
        try:
            moto_transact(self, transact_items)
        except BaseException:
            for table, hash_key, range_key, before in reversed(items):
                if range_key is None and before is None:
                    table.items.pop(hash_key, None)
                elif range_key is None:
                    table.items[hash_key] = before
                elif before is None:
                    table.items[hash_key].pop(range_key, None)
                else:
                    table.items[hash_key][range_key] = before
            for shard, length in streams.values():
                del shard.items[length:]
            raise

    ddb.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _projection_converted_once() -> None:
    """A projection of top-level attributes copies the attributes named, as DynamoDB reads them.

    moto's ``Item.project`` turns the whole item into plain JSON (every attribute deep-copied,
    every binary value base64-decoded) once per attribute in the ProjectionExpression, then back,
    so reading 20 attributes of an item costs 20 conversions of all of it, binary values it was not
    asked for included: a 90-day report's 108 bucket items, 20 attributes each, decoded all their
    sealed callers (1.5 MB at 100,000 calls) 20 times per report, most of the difference between
    report sizes (bench/README.md). Here only the top-level attributes named are converted, each
    once, the same way; any other expression (a nested path, a list index) goes to moto's own code.
    tests/unit/test_embedded_projection.py holds the answers equal to moto's.
    """
    from moto.dynamodb.models.dynamo_type import Item, deserializer, serializer

    original = Item.project

    def project(self: Any, projection_expressions: list[list[str]]) -> Any:
        if not all(len(expr) == 1 and not expr[0].endswith("]") for expr in projection_expressions):
            return original(self, projection_expressions)
        named = dict.fromkeys(expr[0] for expr in projection_expressions)
        # Each attribute as moto's ``Item.to_regular_json`` converts it, but only those named
        result = {n: deserializer.deserialize(a.to_regular_json()) for n in named if (a := self.attrs.get(n))}
        return Item(hash_key=self.hash_key, range_key=self.range_key, attrs=serializer.serialize(result)["M"])

    Item.project = project  # type: ignore[method-assign]


def _request_ids_in_xml_only() -> None:
    """An answer's request id goes in its headers, and in its body only when the body is XML.

    moto's ``BaseResponse._enrich_response`` runs a look-behind regular expression for
    ``<RequestId>…</RequestId>`` over every answer's body, JSON ones too: DynamoDB's answers are JSON
    and never hold that element, so the search finds nothing in them, but it reads the whole body to
    find nothing (about 4 ms per 100 KB here: a 90-day report's sealed callers at 100,000 calls,
    1 MB of answers, spent 11 ms in it, the largest cost that grew with the calls; bench/README.md),
    and it would rewrite an item's own text if a stored string held the element. Here a body that
    is not XML goes back as it is; the headers (the request id among them) are moto's own.
    tests/unit/test_embedded_projection.py holds the headers and XML answers equal to moto's.
    """
    from moto.core.responses import BaseResponse

    original = BaseResponse._enrich_response

    def enrich(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
        if isinstance(body, str | bytes) and body.lstrip()[:1] not in ("<", b"<"):
            headers, _ = original(headers, "")
            return headers, body
        return original(headers, body)

    BaseResponse._enrich_response = staticmethod(enrich)  # type: ignore[method-assign, assignment]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args(argv)
    if not args.host.startswith("127.") and args.host not in ("localhost", "::1"):
        parser.error("the embedded DynamoDB listens on loopback only")
    _journaled_transactions()
    _projection_converted_once()
    _request_ids_in_xml_only()
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(args.host, args.port, app, threaded=False, request_handler=MotoRequestHandler)
    # Everything is in memory: SIGTERM ends the process at once. (sys.exit waited for the threads moto
    # starts, so stopping a stack that had taken a month of calls hung until the caller's kill, 10 s.)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    sys.stderr.write(f"embedded DynamoDB on http://{args.host}:{args.port}\n")
    sys.stderr.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
