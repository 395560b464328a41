"""A local Okta org emulator for the demo, the tests and the benchmarks.

A separate HTTP server (Starlette + uvicorn) that answers the Management API paths Gatehouse uses
with Okta's statuses, bodies, headers, errors, lifecycle and group-type rules, pagination and rate
limits, over deterministic seeds (``acme``, ``large``, ``empty``). Start it with
``python -m okta.sandbox --port 8900 --org acme --token TOKEN`` or
``python manage.py okta_sandbox ...``; drive it from tests with the ``/__sandbox__/`` control API
(see ``okta.sandbox.server``) or the pytest fixtures in ``tests/fixtures/sandbox.py``.
"""
