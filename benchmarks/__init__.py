"""Performance harness of the course: ``python -m benchmarks`` (or ``make bench``).

Each ``benchmarks/bench_<topic>.py`` defines ``run() -> list[dict]``; every dict has ``name``,
``value``, ``unit`` and ``note``.  Benchmarks report ratios or measurements taken in one run on
one machine; they are never timed tests that could flake on a busy machine.
"""
