"""What ``setup`` and ``deploy`` refuse, in words that say what to fix: pure functions, no network.

Each returns a list of problems (empty when fine), so one run shows everything to fix at once,
before anything is created in AWS or Twilio.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

PLACEHOLDER = "REPLACE-WITH"  # how .chalice/config.json marks what a deployment must fill in
ACCOUNT_SID = re.compile(r"AC[0-9a-f]{32}")
AUTH_TOKEN = re.compile(r"[0-9a-f]{32}")
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
E164 = re.compile(r"\+[1-9]\d{6,14}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
STAGE = re.compile(r"[a-z][a-z0-9]{0,19}")  # goes into table, bucket, queue, function and SSM names
# Where setup takes the Twilio auth token from: never the command line, where ps and shell history see it.
AUTH_SOURCES = (
    "set TWILIO_AUTH_TOKEN, pipe it in with --auth-token-stdin "
    "(e.g. `pass twilio/token | calltracking setup --auth-token-stdin ...`), or run setup at a terminal to be asked"
)
RESERVED_STAGES = ("local", "test")  # the local stack's and the tests' (see stage_name)


def _placeholder(name: str, value: str) -> list[str]:
    if PLACEHOLDER in value.upper():
        return [f"{name} is still the placeholder {value!r}: put in your own value"]
    return []


def account_sid(value: str, *, name: str = "the Twilio account SID") -> list[str]:
    if not value:
        return [f"{name} is missing: it is on the Twilio console's home page (AC followed by 32 hex digits)"]
    if found := _placeholder(name, value):
        return found
    if not ACCOUNT_SID.fullmatch(value):
        return [f"{name} {value!r} is malformed: it is AC followed by 32 lowercase hex digits"]
    return []


def auth_token(value: str) -> list[str]:
    if not value:
        return [
            f"the Twilio auth token is missing: {AUTH_SOURCES} (it is next to the account SID on the Twilio console)"
        ]
    if found := _placeholder("the Twilio auth token", value):
        return found
    if not AUTH_TOKEN.fullmatch(value):
        return ["the Twilio auth token is malformed: it is 32 lowercase hex digits (not shown here)"]
    return []


def public_url(value: str) -> list[str]:
    """Empty is allowed: ``deploy`` then uses API Gateway's own URL."""
    if not value:
        return []
    if found := _placeholder("the public URL", value):
        return found
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or "." not in parts.hostname:
        return [
            f"the public URL {value!r} must be an https:// URL with a host name, e.g. https://calls.example.com/api"
        ]
    if parts.query or parts.fragment or parts.username or parts.password:
        return [f"the public URL {value!r} must have no query, fragment or credentials"]
    return []


def phone(value: str, *, name: str = "the default forward-to phone") -> list[str]:
    if not value:
        return [f"{name} is missing: the business's main phone in E.164, e.g. +12025550100"]
    if found := _placeholder(name, value):
        return found
    if not E164.fullmatch(value):
        return [f"{name} {value!r} is not an E.164 phone number like +12025550100"]
    # Function-level import: phonenumbers is heavy and only needed when a phone is checked.
    import phonenumbers

    try:
        valid = phonenumbers.is_valid_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:
        valid = False
    return [] if valid else [f"{name} {value!r} is not a valid phone number"]


def region(value: str) -> list[str]:
    if not value:
        return [
            "the AWS region is missing: pass --region (e.g. --region eu-west-1) or set AWS_DEFAULT_REGION; "
            "Chalice reads AWS_DEFAULT_REGION, not AWS_REGION"
        ]
    if not REGION.fullmatch(value):
        return [f"{value!r} is not an AWS region like us-east-1 or eu-west-1"]
    return []


def email(value: str, *, name: str = "the alarm email") -> list[str]:
    """Optional addresses: the alarms' SNS subscription (AWS sends a confirmation mail), the alerts' sender."""
    if value and not EMAIL.fullmatch(value):
        return [f"{name} {value!r} is not an email address"]
    return []


def stage_name(value: str, existing: Mapping[str, Any] | None = None) -> list[str]:
    """A stage's name; ``existing``: its entry in .chalice/config.json, if it has one.

    ``local`` and ``test`` are the local stack's and the tests' names, so a new deployed stage
    may not take them. A deployed one made before that rule (an entry without
    ``CALLTRACKING_LOCAL``) keeps working: setup may be run on it again and it may be deployed;
    since the app no longer judges by name (``Settings.local`` is never true in Lambda), it
    simply behaves as the deployment it is. ``make run``'s own ``local`` entry is never set up.
    """
    if value in RESERVED_STAGES:
        env = (existing or {}).get("environment_variables", {})
        if existing is None or str(env.get("CALLTRACKING_LOCAL", "")).lower() in ("true", "1"):
            return [
                f"the stage names {' and '.join(RESERVED_STAGES)} are reserved for the local stack "
                "(`make run` and the tests): choose another name for a deployed stage"
            ]
    if not STAGE.fullmatch(value):
        return [f"the stage {value!r} must be 1 to 20 lowercase letters and digits, starting with a letter"]
    return []


def stage_env(env: dict[str, str]) -> list[str]:
    """Placeholders left in a stage's environment (``deploy`` refuses them)."""
    return [
        f"{key} in .chalice/config.json is still {value!r}: run `calltracking setup`"
        for key, value in env.items()
        if PLACEHOLDER in value.upper()
    ]


PACKAGE_PYTHON = (3, 11)  # the Lambda runtime the lock file, the package and its benchmarks are for


def python_version(version: tuple[int, int]) -> list[str]:
    """Chalice takes the Lambda runtime from the Python running it, and the package's bytecode and
    pinned wheels are for ``PACKAGE_PYTHON``: deploying from another version would ship another runtime."""
    if tuple(version) == PACKAGE_PYTHON:
        return []
    want = ".".join(map(str, PACKAGE_PYTHON))
    return [
        f"this is Python {version[0]}.{version[1]}; the package is built for Lambda's python{want}: "
        f"make the venv with python{want} (Debian/Ubuntu: apt install python{want} python{want}-venv; "
        f"then rm -rf .venv && make venv PYTHON=python{want})"
    ]


def twilio_account(kind: str) -> list[str]:
    """Warnings about the Twilio account setup fetched (a suspended or closed one is refused when it is
    fetched): a trial account works for trying it out but plays Twilio's notice to every caller and
    can call only verified numbers, so the business's phone must be verified and real traffic wait."""
    if kind.lower() != "trial":
        return []
    return [
        "a Twilio trial account: callers hear Twilio's trial notice and calls can be forwarded only to "
        "verified numbers; upgrade it (Twilio console -> Billing) before pointing real ads at it"
    ]


HOSTNAME = re.compile(r"(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def domain(value: str) -> list[str]:
    """A custom domain for the API: a host name of yours (not a URL, not API Gateway's own)."""
    if not value:
        return []
    if "://" in value or "/" in value:
        return [f"the domain {value!r} is a host name, e.g. calls.example.com (no https://, no path)"]
    if not HOSTNAME.fullmatch(value):
        return [f"the domain {value!r} is not a host name such as calls.example.com"]
    if value.endswith(".amazonaws.com"):
        return [f"the domain {value!r} is AWS's: give a name of your own"]
    return []
