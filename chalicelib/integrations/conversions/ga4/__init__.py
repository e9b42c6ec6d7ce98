"""GA4: Measurement Protocol events for converting calls."""
