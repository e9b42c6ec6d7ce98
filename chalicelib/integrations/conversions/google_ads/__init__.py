"""Google Ads: offline click conversions over REST (no gRPC library)."""
