"""Who is calling: API keys, the management API's authentication and the request context."""
