"""The custom domain's pure parts: DNS answers parsed, where a stage stands, the host name check,
and when the old URL stops being accepted (the resolver against a DNS server: tests/integration)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from calltracking_cli import checks, domain, status
from calltracking_cli.deploy import PREVIOUS_GRACE_SECONDS, clear_previous_urls
from calltracking_cli.project import Project


def test_an_answer_with_another_id_or_malformed_is_no_answer():
    sent = domain.query("calls.example.com")
    good = sent[:2] + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0) + sent[12:]
    rdata = domain.encode_name("d-1.execute-api.eu-west-1.amazonaws.com")
    good += struct.pack(">HHHIH", 0xC00C, domain.CNAME, domain.IN, 60, len(rdata)) + rdata
    assert domain.cnames_in(good, sent) == ["d-1.execute-api.eu-west-1.amazonaws.com"]
    assert domain.cnames_in(b"\x00\x00" + good[2:], sent) == []  # another query's answer
    assert domain.cnames_in(good[:-5], sent) == []  # cut short
    looping = sent[:2] + struct.pack(">HHHHH", 0x8180, 0, 1, 0, 0) + b"\xc0\x0c" + b"\x00" * 10
    assert domain.cnames_in(looping, sent) == []  # a name pointing at itself


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("calls.example.com", True),
        ("", True),
        ("https://calls.example.com", False),
        ("calls", False),
        ("x.execute-api.us-east-1.amazonaws.com", False),
        ("calls.example.com/api", False),
        ("-a.example.com", False),
    ],
)
def test_a_custom_domain_is_a_host_name_of_ones_own(value: str, ok: bool):
    assert (checks.domain(value) == []) is ok


def facts(**kw: object) -> status.Facts:
    return status.Facts("prod", "eu-west-1", "s", "CREATE_COMPLETE", api_url="https://x/api/", **kw)  # type: ignore[arg-type]


def test_status_says_where_the_domain_stands_until_it_is_the_stages_url():
    def said(f: status.Facts) -> list[str]:
        return [f"{p.text} -> {p.fix}" for p in status.problems_of(f) if p.kind == "domain"]

    base = {"domain": "calls.example.com", "public_url": "https://x/api"}
    (pending,) = said(facts(**base, certificate="PENDING_VALIDATION", validation_record="_a CNAME _b"))
    assert "waits for its DNS record (not visible yet) -> add _a CNAME _b" in pending
    (issued,) = said(facts(**base, certificate="ISSUED"))
    assert "run calltracking deploy to make the domain" in issued
    (pointing,) = said(facts(**base, certificate="ISSUED", domain_record="calls.example.com CNAME d-1"))
    assert "does not point at API Gateway yet -> add calls.example.com CNAME d-1" in pointing
    ready = facts(**base, certificate="ISSUED", domain_record="calls.example.com CNAME d-1", domain_visible=True)
    assert said(ready) == ["calls.example.com is ready -> run calltracking deploy to move the stage to it"]
    assert said(facts(domain="calls.example.com", public_url="https://calls.example.com", certificate="ISSUED")) == []


def test_the_old_url_is_forgotten_only_after_the_numbers_moved_and_the_longest_call_ended(tmp_path: Path):
    (tmp_path / ".chalice").mkdir()
    env = {"PUBLIC_BASE_URL": "https://calls.example.com", "PREVIOUS_BASE_URLS": "https://x/api"}
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps({"stages": {"prod": {"environment_variables": env}}}))
    project = Project(tmp_path)
    project.write_deploy_settings("prod", {"switched_at": 1000})
    later = 1000 + PREVIOUS_GRACE_SECONDS + 1
    assert not clear_previous_urls(project, "prod", later)  # the numbers were not re-pointed since
    project.write_deploy_settings("prod", {"switched_at": 1000, "repointed_at": 1001})
    assert not clear_previous_urls(project, "prod", 1000 + PREVIOUS_GRACE_SECONDS - 1)  # a call may still run
    assert clear_previous_urls(project, "prod", later)
    assert project.stage_env("prod")["PREVIOUS_BASE_URLS"] == ""
