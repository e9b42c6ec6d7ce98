"""Chalice blueprints: each route parses its request, calls one function, returns."""
