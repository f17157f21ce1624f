"""The terminal: which console a command draws on and how long waits show their progress.

Run-specific views live with the run (:mod:`chaos.experiment.live`); the end-of-run summary
with the reports (:mod:`chaos.report.terminal`).
"""
