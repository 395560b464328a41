"""The log, as configured by settings.LOGGING, says each thing once and leaves out the noise:
static files served, kombu's "No hostname" warning, the traceback of an expected refusal."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from celery.app.trace import LOG_FAILURE, LOG_RECEIVED, LOG_SUCCESS
from kombu import Connection

from tests.world import Cast, client_as


class Recorder(logging.Handler):
    """Records what reaches it, formatted, as a handler of the configured logger would."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def server_log() -> Iterator[Recorder]:
    """The development server's access log (its logger does not propagate to the root)."""
    recorder = Recorder()
    logger = logging.getLogger("django.server")
    logger.addHandler(recorder)
    yield recorder
    logger.removeHandler(recorder)


def server_line(request_line: str, status: int) -> None:
    """An access line, logged as runserver's request handler logs it."""
    logging.getLogger("django.server").log(
        logging.WARNING if status >= 400 else logging.INFO,
        '"%s" %s %s',
        request_line,
        str(status),
        "0",
        extra={"request": None, "status_code": status, "server_time": "07/Dec/2026 23:34:50"},
    )


def test_static_files_served_leave_no_access_line(server_log: Recorder) -> None:
    server_line("GET /static/bootstrap/css/bootstrap.min.css HTTP/1.1", 304)
    server_line("GET /static/portal/gatehouse.css HTTP/1.1", 200)
    server_line("GET /catalog/ HTTP/1.1", 200)
    server_line("GET /static/portal/missing.css HTTP/1.1", 404)
    assert server_log.lines == [
        'INFO django.server "GET /catalog/ HTTP/1.1" 200 0',
        'WARNING django.server "GET /static/portal/missing.css HTTP/1.1" 404 0',
    ]


def test_kombu_no_hostname_warning_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    # The embedded broker's URL, whatever this run's broker is (CI's is Redis on a host).
    with caplog.at_level(logging.DEBUG), Connection("filesystem://") as connection:
        assert connection.info()["hostname"] == "localhost"  # kombu's default for no host
        logging.getLogger("kombu.connection").warning("connection lost: %s", "test")
    kombu = [r.getMessage() for r in caplog.records if r.name == "kombu.connection"]
    assert kombu == ["connection lost: test"]  # the rest of kombu's warnings still show


@pytest.mark.django_db
def test_a_refused_page_is_one_warning_line_without_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    Cast()
    client = client_as("maya")
    with caplog.at_level(logging.INFO):
        response = client.get("/audit/")
    assert response.status_code == 403
    records = [r for r in caplog.records if r.name.startswith("django")]
    assert [r.getMessage() for r in records] == ["Forbidden (Permission denied): /audit/"]
    assert records[0].exc_info is None
    assert "Traceback" not in caplog.text
    # Django's own console handler would print each django.* record a second time.
    assert logging.getLogger("django").handlers == []


@pytest.mark.django_db
def test_an_unexpected_error_keeps_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("django.request").error("Internal Server Error: /x/", exc_info=True)
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info is not None
    assert "RuntimeError: boom" in caplog.text


def test_the_worker_logs_no_lines_for_beat_s_periodic_tasks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    received = logging.getLogger("celery.worker.strategy")
    trace = logging.getLogger("celery.app.trace")
    with caplog.at_level(logging.INFO):
        for name in ("okta.operations_reap", "okta.operation_run"):
            task = {"name": name, "id": "t1", "args": "()", "kwargs": "{}", "eta": None}
            received.info(LOG_RECEIVED, task)
            trace.info(LOG_SUCCESS, {**task, "runtime": 0.01, "return_value": "0"})
        failed = {"name": "okta.operations_reap", "id": "t2", "exc": "boom"}
        trace.error(LOG_FAILURE, {**failed, "description": "raised unexpected"})
    assert [r.getMessage() for r in caplog.records] == [
        "Task okta.operation_run[t1] received",  # queued by someone's action: kept
        "Task okta.operation_run[t1] succeeded in 0.01s: 0",
        "Task okta.operations_reap[t2] raised unexpected: boom",  # a periodic failure still shows
    ]
