"""Browser tests: headless Chromium (Playwright, never a downloaded browser) against
pytest-django's live server, signing in through the real local OIDC provider.

The fixtures live in tests/browser/plugin.py (loaded for every test from the root conftest):
``browser``, ``page``, ``gatehouse``, ``sign_in``, plus ``celery_worker`` for Celery work.
"""
