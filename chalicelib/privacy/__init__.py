"""A caller's data on request: erasure everywhere we hold it (``erasure.py``), behind ``/v1/callers``."""
