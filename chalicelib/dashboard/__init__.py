"""The dashboard: server-rendered pages for people, behind a session cookie (never an API key).

Nothing here is imported by ``import app``: the dashboard's blueprints reach it through
``chalicelib.routes.lazy_module``, so Jinja2, Argon2 and the pages cost the voice webhook's
cold start nothing.
"""
