"""The tests of ``tests/integration/test_recordings.py`` that need no database, network or server (moved here
unchanged; the module there says what the area is)."""

from __future__ import annotations

from chalicelib.core.settings import bucket_name


def test_the_default_bucket_name_is_a_valid_s3_name():
    assert bucket_name("calltracking-dev-recordings") == "calltracking-dev-recordings"
    assert bucket_name("My_Prefix.recordings") == "my-prefix-recordings"
    assert len(bucket_name("x" * 80)) == 63
