"""Transcripts of recorded calls, keyword rules that act on them."""
