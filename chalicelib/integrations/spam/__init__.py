"""Spam scoring: the ``spam`` subscriber of completed calls (rules in ``chalicelib/spam.py``)."""
