"""The custom domain's resolver (``calltracking_cli.domain``) against a DNS server on loopback."""

from __future__ import annotations

import pytest

from calltracking_cli import domain
from tests.support.dns_stub import DnsStub


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch):
    stub = DnsStub()
    monkeypatch.setenv(domain.DNS_ENV, stub.address)
    yield stub
    stub.close()


def test_the_resolver_reads_a_cname_and_nothing_from_an_unknown_name(dns: DnsStub):
    dns.records["_abc.calls.example.com"] = "_xyz.acm-validations.aws"
    assert domain.lookup_cname("_abc.calls.example.com") == "_xyz.acm-validations.aws"
    assert domain.lookup_cname("other.example.com") is None
    assert domain.visible(domain.Record("_abc.calls.example.com", "CNAME", "_XYZ.acm-validations.aws."))
    assert not domain.visible(domain.Record("_abc.calls.example.com", "CNAME", "elsewhere.example.com"))
