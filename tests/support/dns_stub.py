"""A DNS server on loopback that answers CNAME queries from a dict the test changes: the resolver
``calltracking status`` and ``deploy`` query (``CALLTRACKING_DNS_SERVER=127.0.0.1:<port>``)."""

from __future__ import annotations

import socket
import struct
import threading

from calltracking_cli.domain import CNAME, IN, _read_name, encode_name


class DnsStub:
    def __init__(self) -> None:
        self.records: dict[str, str] = {}  # name -> CNAME target
        self.queries: list[str] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                message, peer = self.sock.recvfrom(512)
            except OSError:
                return
            name, end = _read_name(message, 12)
            question = message[12 : end + 4]
            self.queries.append(name.lower())
            target = self.records.get(name.lower().rstrip("."))
            if target is None:  # NXDOMAIN
                self.sock.sendto(message[:2] + struct.pack(">HHHHH", 0x8183, 1, 0, 0, 0) + question, peer)
                continue
            rdata = encode_name(target)
            answer = struct.pack(">HHHIH", 0xC00C, CNAME, IN, 300, len(rdata)) + rdata
            self.sock.sendto(message[:2] + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0) + question + answer, peer)

    def close(self) -> None:
        self.sock.close()
