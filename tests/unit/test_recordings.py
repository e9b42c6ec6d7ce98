"""Recordings in the stage's own bucket: archived after the call by the ``recordings`` subscriber,
verified, deleted at the provider, played through presigned URLs, deleted with their call.

Against moto's server (DynamoDB, its stream, SQS and S3) through the local event pump, with
the local telephony provider serving its small real WAV as every call's recording.

The tests of this area that need no database, network or server; the ones that need
the database are in ``tests/integration/test_recordings.py``.
"""

from __future__ import annotations

from chalicelib.core.settings import bucket_name


def test_the_default_bucket_name_is_a_valid_s3_name():
    assert bucket_name("calltracking-dev-recordings") == "calltracking-dev-recordings"
    assert bucket_name("My_Prefix.recordings") == "my-prefix-recordings"
    assert len(bucket_name("x" * 80)) == 63
