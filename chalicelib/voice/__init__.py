"""The voice path: Twilio webhook authentication, routing a call, call-flow settings and the TwiML that answers."""
