"""``python -m bench [--quick] [--only NAME ...]``: Gatehouse's speed, measured at company scale.

The harness starts what it needs itself (the Okta sandbox, gunicorn, a Celery worker), on a
database of its own, runs each benchmark, prints a table and writes ``var/bench/latest.json``.
Each benchmark is compared with its target from the issues and marked pass or fail.
"""
