"""A custom domain for a stage (``calls.example.com``): the certificate, the two DNS records, the switch.

1. ``calltracking setup --stage prod --domain calls.example.com`` requests a regional ACM
   certificate through the ACM API (DNS validation; not in the stack, which would wait until DNS
   validates) and prints the CNAME that proves the domain is yours.
2. ``calltracking status`` says where it stands: the certificate waiting for that record (and
   whether the record is visible yet, through the resolver), issued, or failed.
3. ``calltracking deploy`` once the certificate is issued makes API Gateway's regional custom
   domain with its base path mapping to the stage's API and prints the second CNAME (the domain
   to API Gateway's regional name). When the resolver sees that record, the same deploy switches:
   ``PUBLIC_BASE_URL`` becomes ``https://calls.example.com``, the old URL goes to
   ``PREVIOUS_BASE_URLS`` (Twilio's signatures for it stay valid), the code is deployed with both,
   the numbers are re-pointed, and once none posts to the old URL the list is cleared with the next
   deploy. The execute-api URL keeps serving throughout: no call is refused in the switch.

The resolver: a DNS query over UDP to the first ``nameserver`` of ``/etc/resolv.conf`` (no
dependency), or to ``CALLTRACKING_DNS_SERVER`` (``host:port``), which the tests point at a
local DNS server.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import struct
from dataclasses import dataclass
from typing import Any

DNS_ENV = "CALLTRACKING_DNS_SERVER"
CNAME = 5
IN = 1


@dataclass(frozen=True)
class Record:
    name: str
    type: str
    value: str

    def line(self) -> str:
        return f"{self.name} {self.type} {self.value}"


# --- the resolver ----------------------------------------------------------------------------------


def _server() -> tuple[str, int]:
    given = os.environ.get(DNS_ENV, "")
    if given:
        host, _, port = given.rpartition(":")
        return host, int(port)
    try:
        with open("/etc/resolv.conf", encoding="utf-8") as conf:
            for line in conf:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    return parts[1], 53
    except OSError:
        pass
    return "127.0.0.1", 53


def encode_name(name: str) -> bytes:
    out = b""
    for label in name.strip(".").split("."):
        raw = label.encode("idna")
        if not 0 < len(raw) < 64:
            raise ValueError(f"{name!r} is not a DNS name")
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def query(name: str, qtype: int = CNAME) -> bytes:
    """A DNS query message for ``name`` (recursion desired), with a random id."""
    header = struct.pack(">HHHHHH", secrets.randbits(16), 0x0100, 1, 0, 0, 0)
    return header + encode_name(name) + struct.pack(">HH", qtype, IN)


def _read_name(message: bytes, offset: int, depth: int = 0) -> tuple[str, int]:
    labels = []
    while True:
        if depth > 20 or offset >= len(message):
            raise ValueError("a malformed DNS name")
        length = message[offset]
        if length & 0xC0 == 0xC0:  # a pointer to a name earlier in the message
            pointer = struct.unpack(">H", message[offset : offset + 2])[0] & 0x3FFF
            rest, _ = _read_name(message, pointer, depth + 1)
            labels.append(rest)
            return ".".join(x for x in labels if x), offset + 2
        if length == 0:
            return ".".join(labels), offset + 1
        labels.append(message[offset + 1 : offset + 1 + length].decode("idna"))
        offset += 1 + length


def cnames_in(answer: bytes, sent: bytes) -> list[str]:
    """The CNAME targets of a DNS answer to ``sent`` (the id must match; anything malformed: none)."""
    try:
        if answer[:2] != sent[:2]:
            return []
        _, flags, qd, an, _, _ = struct.unpack(">HHHHHH", answer[:12])
        if flags & 0x000F:  # an error code (NXDOMAIN...)
            return []
        offset = 12
        for _ in range(qd):
            _, offset = _read_name(answer, offset)
            offset += 4
        found = []
        for _ in range(an):
            _, offset = _read_name(answer, offset)
            rtype, _, _, length = struct.unpack(">HHIH", answer[offset : offset + 10])
            offset += 10
            if rtype == CNAME:
                target, _ = _read_name(answer, offset)
                found.append(target.rstrip(".").lower())
            offset += length
        return found
    except (ValueError, struct.error, IndexError, UnicodeError):
        return []


def lookup_cname(name: str, *, timeout: float = 3.0) -> str | None:
    """What ``name``'s CNAME record points at, as the resolver sees it now; ``None`` if none (yet)."""
    sent = query(name)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(sent, _server())
            answer, _ = sock.recvfrom(4096)
        except OSError:
            return None
    found = cnames_in(answer, sent)
    return found[0] if found else None


def visible(record: Record) -> bool:
    return lookup_cname(record.name) == record.value.rstrip(".").lower()


# --- the certificate and API Gateway's domain ---------------------------------------------------------


def request_certificate(session: Any, domain: str) -> str:
    """The ARN of a regional certificate for ``domain``: the one already requested or issued, else a new one."""
    acm = session.client("acm")
    pages = acm.get_paginator("list_certificates").paginate(CertificateStatuses=["PENDING_VALIDATION", "ISSUED"])
    for page in pages:
        for cert in page.get("CertificateSummaryList", []):
            if cert.get("DomainName", "").lower() == domain:
                return str(cert["CertificateArn"])
    token = hashlib.sha256(domain.encode()).hexdigest()[:32]
    answer = acm.request_certificate(
        DomainName=domain,
        ValidationMethod="DNS",
        IdempotencyToken=token,
        Tags=[{"Key": "app", "Value": "calltracking"}],
    )
    return str(answer["CertificateArn"])


def certificate(session: Any, arn: str) -> tuple[str, Record | None]:
    """The certificate's status and the CNAME that validates it (``None`` while ACM prepares it)."""
    described = session.client("acm").describe_certificate(CertificateArn=arn)["Certificate"]
    record = None
    for option in described.get("DomainValidationOptions", []):
        rr = option.get("ResourceRecord")
        if rr:
            record = Record(rr["Name"].rstrip("."), rr["Type"], rr["Value"].rstrip("."))
            break
    return str(described.get("Status", "")), record


def ensure_api_domain(session: Any, domain: str, certificate_arn: str, rest_api_id: str, stage: str) -> Record:
    """API Gateway's regional custom domain for ``domain`` with its root mapped to the API's stage;
    the CNAME the owner adds (the domain to API Gateway's regional name)."""
    apigw = session.client("apigateway")
    try:
        found = apigw.get_domain_name(domainName=domain)
    except apigw.exceptions.NotFoundException:
        found = apigw.create_domain_name(
            domainName=domain,
            regionalCertificateArn=certificate_arn,
            endpointConfiguration={"types": ["REGIONAL"]},
            securityPolicy="TLS_1_2",
            tags={"app": "calltracking"},
        )
    try:  # the domain's root; a second deploy finds it made ("(none)": API Gateway's empty base path)
        apigw.create_base_path_mapping(domainName=domain, restApiId=rest_api_id, stage=stage)
    except apigw.exceptions.ConflictException:
        mapping = apigw.get_base_path_mapping(domainName=domain, basePath="(none)")
        if (mapping.get("restApiId"), mapping.get("stage")) != (rest_api_id, stage):
            apigw.update_base_path_mapping(
                domainName=domain,
                basePath="(none)",
                patchOperations=[
                    {"op": "replace", "path": "/restapiId", "value": rest_api_id},
                    {"op": "replace", "path": "/stage", "value": stage},
                ],
            )
    return Record(domain, "CNAME", str(found["regionalDomainName"]))


def base_url(domain: str) -> str:
    """The public URL on the custom domain: its root is the API's stage (the base path mapping)."""
    return f"https://{domain}"
