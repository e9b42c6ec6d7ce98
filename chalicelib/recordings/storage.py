"""The one S3 client, the recordings bucket and the object key of a call's recording."""

from __future__ import annotations

import contextlib
import re
from typing import Any

from chalicelib.core import aws
from chalicelib.core.settings import get_settings

CONTENT_TYPE = "audio/wav"  # the key ends in .wav: Twilio's media in WAV, as fetched
_SAFE = re.compile(r"[^0-9A-Za-z_-]")


def s3() -> Any:
    """The S3 client (background and management work only): path-style for moto's server, SigV4 for presigning."""
    return aws.client("s3", aws.MEDIA, endpoint=get_settings().s3_endpoint, path_style=True)


def reset() -> None:
    """Forget the client (a test that moved the endpoint)."""
    aws.forget("s3")


def bucket() -> str:
    return get_settings().recordings_bucket


def object_key(call_sid: str, recording_sid: str) -> str:
    """Deterministic, so a deleted call's object is found from the call as it was."""
    return f"recordings/{_SAFE.sub('_', call_sid)}/{_SAFE.sub('_', recording_sid)}.wav"


def create_bucket() -> None:
    """The bucket as infra/ makes it, for the embedded S3 (``make run``, the tests)."""
    client, name = s3(), bucket()
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=name)
    client.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    client.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
