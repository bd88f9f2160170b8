"""Benchmarks of Move Better: delivery rate, cost as users grow, responsiveness, charts.

Run everything and print the table (results JSON goes to bench/results/):

    python -m bench            # the full run, about 20–25 minutes on 2 cores
    python -m bench --quick    # small sizes, for CI: it asserts nothing about time

See bench/README.md for the scenarios, their baselines and the latest figures.
"""
