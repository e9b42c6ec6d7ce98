"""The base layer: settings, clock, errors, secrets, validation, privacy cuts, observability, AWS clients, telephony."""
