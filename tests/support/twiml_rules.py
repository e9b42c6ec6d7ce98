"""Twilio's TwiML rules for the verbs this app answers with: which verbs may nest where, which
attributes each takes (as Twilio's TwiML reference names them), and the values Twilio accepts
where it limits them. ``problems(xml, base_url)`` lists what breaks them (empty: valid), and
that every URL in it is the deployment's public base URL (Twilio signs the URL it was given)."""

from __future__ import annotations

import re
from xml.etree import ElementTree

ATTRIBUTES = {
    "Response": set(),
    "Say": {"voice", "language", "loop"},
    "Play": {"loop", "digits"},
    "Pause": {"length"},
    "Hangup": set(),
    "Reject": {"reason"},
    "Redirect": {"method"},
    "Dial": {
        "action",
        "method",
        "timeout",
        "hangupOnStar",
        "timeLimit",
        "callerId",
        "record",
        "trim",
        "recordingStatusCallback",
        "recordingStatusCallbackMethod",
        "recordingStatusCallbackEvent",
        "answerOnBridge",
        "ringTone",
        "recordingTrack",
        "sequential",
        "referUrl",
        "referMethod",
        "events",
    },
    "Number": {
        "sendDigits",
        "url",
        "method",
        "statusCallbackEvent",
        "statusCallback",
        "statusCallbackMethod",
        "byoc",
        "machineDetection",
        "amdStatusCallbackMethod",
        "amdStatusCallback",
        "machineDetectionTimeout",
        "machineDetectionSpeechThreshold",
        "machineDetectionSpeechEndThreshold",
        "machineDetectionSilenceTimeout",
    },
    "Gather": {
        "action",
        "finishOnKey",
        "hints",
        "input",
        "language",
        "method",
        "numDigits",
        "partialResultCallback",
        "partialResultCallbackMethod",
        "profanityFilter",
        "speechTimeout",
        "timeout",
        "speechModel",
        "enhanced",
        "actionOnEmptyResult",
    },
    "Record": {
        "action",
        "finishOnKey",
        "maxLength",
        "method",
        "playBeep",
        "recordingStatusCallback",
        "recordingStatusCallbackMethod",
        "recordingStatusCallbackEvent",
        "timeout",
        "transcribe",
        "transcribeCallback",
        "trim",
    },
}
CHILDREN = {
    "Response": {"Say", "Play", "Pause", "Hangup", "Reject", "Redirect", "Dial", "Gather", "Record"},
    "Dial": {"Number"},
    "Gather": {"Say", "Play", "Pause"},
}
URL_ATTRIBUTES = {"action", "url", "statusCallback", "recordingStatusCallback", "transcribeCallback"}
BOOLEAN = {"answerOnBridge", "playBeep", "actionOnEmptyResult", "hangupOnStar", "profanityFilter", "enhanced"}
LIMITS = {  # attribute: (smallest, largest) whole number Twilio takes
    "timeout": (1, 600),
    "numDigits": (1, 99),
    "maxLength": (1, 14400),
    "timeLimit": (1, 14400),
}
_E164 = re.compile(r"\+[1-9]\d{6,14}")


def problems(xml: str, base_url: str) -> list[str]:
    """What in ``xml`` breaks Twilio's rules (or names a URL outside ``base_url``)."""
    root = ElementTree.fromstring(xml)
    if root.tag != "Response":
        return [f"the root is <{root.tag}>, not <Response>"]
    out: list[str] = []
    terminal = False
    for verb in root:
        if terminal:
            out.append(f"<{verb.tag}> after <Hangup> or <Reject> is never reached")
        terminal = terminal or verb.tag in ("Hangup", "Reject")
    for parent in root.iter():
        for child in parent:
            if child.tag not in CHILDREN.get(parent.tag, set()):
                out.append(f"<{child.tag}> may not be inside <{parent.tag}>")
    for el in root.iter():
        for name, value in el.attrib.items():
            if name not in ATTRIBUTES.get(el.tag, set()):
                out.append(f"<{el.tag}> takes no attribute {name!r}")
            if name in URL_ATTRIBUTES and not value.startswith(base_url + "/"):
                out.append(f"<{el.tag} {name}> is not under the public base URL: {value}")
            if name in BOOLEAN and value not in ("true", "false"):
                out.append(f"<{el.tag} {name}> must be true or false: {value}")
            if name == "method" and value not in ("GET", "POST"):
                out.append(f"<{el.tag} method> must be GET or POST: {value}")
            if name in LIMITS:
                low, high = LIMITS[name]
                if not value.isdigit() or not low <= int(value) <= high:
                    out.append(f"<{el.tag} {name}> must be a whole number from {low} to {high}: {value}")
        if el.tag == "Number" and not _E164.fullmatch((el.text or "").strip()):
            out.append(f"<Number> holds no E.164 phone: {el.text!r}")
        if el.tag == "Dial" and el.get("callerId") and not _E164.fullmatch(el.get("callerId", "")):
            out.append(f"<Dial callerId> is no E.164 phone: {el.get('callerId')}")
        if el.tag in ("Say",) and not (el.text or "").strip():
            out.append("<Say> says nothing")
    return out
