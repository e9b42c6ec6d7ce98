"""The one storage layer: PynamoDB models, every key builder, connections per caller, write and TTL helpers, caches."""
