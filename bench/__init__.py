"""Benchmarks: ``make bench`` runs them all; results go to ``bench/results/*.json`` and ``bench/README.md``."""
