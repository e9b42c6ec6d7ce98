"""Logger and metrics, created once for the whole app (Powertools)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

NAMESPACE = "CallTracking"
SERVICE = "calltracking"  # Powertools adds it as the ``service`` dimension of every metric

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

# The voice path's own metrics, written to the logs in CloudWatch's embedded metric format and
# alarmed on by infra/tables.yaml: the voice webhook shares its Lambda with every route and never
# fails on purpose, so Lambda's Errors and Duration cannot say when callers suffer.
VOICE_ANSWERED = "VoiceAnswered"  # every answer to Twilio's voice request (stored, degraded, unverified)
FALLBACK_HITS = "FallbackHits"  # Twilio gave up on /twilio/voice (error or timeout) and asked the fallback URL
ROUTING_FAILURES = "RoutingFailures"  # a call forwarded without its route: the database could not say
VOICE_DURATION = "VoiceDuration"  # milliseconds from the voice request's arrival in our code to its TwiML
ALARMED_METRICS = (VOICE_ANSWERED, FALLBACK_HITS, ROUTING_FAILURES, VOICE_DURATION)
