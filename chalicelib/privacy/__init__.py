"""A caller's data on request: access (``access.py``), erasure everywhere we hold it
(``erasure.py``), both as jobs for a caller with many calls (``jobs.py``), behind
``/v1/callers``; the erasure log outside the restorable tables and its re-apply after a restore
(``erasurelog.py``, ``reapply.py``).

``chalicelib.privacy.reapply_erasures(ctx)`` is this package's API (the restore drill calls it):
resolved on first use, as this package sits on ``import app``'s way to the privacy declaration
and must run no import itself (``tests/unit/test_layout.py``)."""


def __getattr__(name: str) -> object:
    if name == "reapply_erasures":
        return __import__("chalicelib.privacy.reapply", fromlist=["reapply_erasures"]).reapply_erasures
    raise AttributeError(name)
