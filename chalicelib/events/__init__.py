"""Call events: every change of a call, from the calls table's DynamoDB Stream, fanned out to
subscribers through SQS (one message per event and subscriber), retried, dead-lettered, swept.

Work that follows a call's change (report aggregates today; webhooks, alerts, recordings
next) subscribes here instead of being called from the voice path, so a slow subscriber can
never delay a caller or another subscriber.
"""
