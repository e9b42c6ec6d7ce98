"""Alerts and summaries: recipients, call alerts, scheduled alerts, digests and summary emails."""
