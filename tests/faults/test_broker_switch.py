"""A test that runs its own broker must leave Celery on the configured one: with no
CELERY_BROKER_URL in the environment (the embedded defaults of a bare `make test`), an earlier
version put the private broker's URL back and every worker test after it failed."""

from __future__ import annotations

import os

import pytest
from django.conf import settings

from gatehouse.celery import app
from tests.browser.plugin import celery_broker

ELSEWHERE = "redis://127.0.0.1:1/0"


@pytest.mark.parametrize("environment", ["unset", "set"])
def test_celery_broker_puts_back_the_configured_broker(
    environment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if environment == "unset":
        monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    else:
        monkeypatch.setenv("CELERY_BROKER_URL", settings.CELERY_BROKER_URL)
    before_options = dict(app.conf.broker_transport_options or {})
    publishing = app.pool  # a pooled connection to the configured broker

    with celery_broker(ELSEWHERE, {"visibility_timeout": 5}):
        assert app.conf.broker_url == ELSEWHERE
        assert os.environ["CELERY_BROKER_URL"] == ELSEWHERE  # workers started now inherit it
        assert app.pool is not publishing
        assert app.pool.connection.as_uri().endswith("127.0.0.1:1/0")

    assert app.conf.broker_url == settings.CELERY_BROKER_URL
    assert dict(app.conf.broker_transport_options or {}) == before_options
    assert os.environ.get("CELERY_BROKER_URL") == (
        None if environment == "unset" else settings.CELERY_BROKER_URL
    )
    assert (
        app.pool.connection.as_uri().split("://")[0] == settings.CELERY_BROKER_URL.split("://")[0]
    )
