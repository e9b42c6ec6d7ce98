"""Reports: aggregates kept per source and day, outcomes, spend, the calls log and its export, pool sizing.

Nothing on the voice path imports this package (a test keeps it out of ``import app``).
"""
