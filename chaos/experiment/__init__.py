"""Experiments: files that declare a service, a load, phases, fault steps and SLOs (``spec``),
targets resolved from the live cluster by pure seeded code (``select``), a plan with its quorum
effect (``plan``), and the runner that executes them (``runner``)."""
