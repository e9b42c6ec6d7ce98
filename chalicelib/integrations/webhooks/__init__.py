"""Outbound webhooks: endpoints, signed deliveries, their log and replay."""
