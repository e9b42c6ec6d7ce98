"""Calls as conversions in the ad platforms: destinations, rules, exactly-once delivery, the log."""
