"""Integrations: what leaves the app for other systems, one folder each, declared in ``wiring.py``'s one list."""
