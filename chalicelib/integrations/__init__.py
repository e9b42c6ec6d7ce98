"""Integrations: what leaves the app for other systems (webhooks; alerts and conversions later)."""
