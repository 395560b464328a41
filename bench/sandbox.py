"""The Okta sandbox as the benchmark's org: started on a free port, driven by its control API.

The control and API helpers here speak plain HTTP through the standard library, so the sandbox
is set up without the code under measurement.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.env import SANDBOX_TOKEN, BenchEnv

START_TIMEOUT = 120.0


@dataclass
class Sandbox:
    url: str
    org: str
    token: str = SANDBOX_TOKEN
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def call(
        self, method: str, path: str, body: Any = None, *, auth: bool = True
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if auth:
            headers["Authorization"] = f"SSWS {self.token}"
        # Loopback http only: the URL is the sandbox this harness started.
        request = urllib.request.Request(  # noqa: S310
            self.url + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        return status, (json.loads(raw) if raw else None)

    def api(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = self.call(method, path, body)
        if status >= 400:
            raise RuntimeError(f"sandbox {method} {path}: {status} {answer}")
        return answer

    def control(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = self.call(method, f"/__sandbox__/{path}", body, auth=False)
        if status >= 400:
            raise RuntimeError(f"sandbox control {method} {path}: {status} {answer}")
        return answer

    def counters(self) -> dict[str, Any]:
        return self.control("GET", "counters")

    def reset_counters(self) -> None:
        self.control("DELETE", "counters")

    def set_rate_limits(
        self, per_minute: dict[str, int] | None = None, concurrency: int | None = None
    ) -> None:
        body: dict[str, Any] = {"per_minute": per_minute or {}}
        if concurrency is not None:
            body["concurrency"] = concurrency
        self.control("POST", "rate-limits", body)

    def state(self) -> dict[str, Any]:
        return self.control("GET", "state")

    def user_state(self, user_id: str) -> dict[str, Any]:
        return self.control("GET", f"state/users/{user_id}")


def start(env: BenchEnv, org: str) -> Sandbox:
    process = env.popen(
        [
            sys.executable,
            "-m",
            "okta.sandbox",
            "--port",
            "0",
            "--org",
            org,
            "--token",
            SANDBOX_TOKEN,
        ],
        log_name="sandbox",
    )
    line: list[bytes] = []
    reader = threading.Thread(
        target=lambda: line.append(process.stdout.readline() if process.stdout else b""),
        daemon=True,
    )
    reader.start()
    reader.join(START_TIMEOUT)
    text = line[0].decode() if line else ""
    if "listening on " not in text:
        env.stop(process)
        raise RuntimeError(f"the Okta sandbox did not start: {text!r}")
    url = text.split("listening on ", 1)[1].split()[0].rstrip("/")
    sandbox = Sandbox(url=url, org=org, process=process)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            sandbox.state()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                env.stop(process)
                raise
            time.sleep(0.1)
    env.variables["OKTA_ORG_URL"] = url
    import os

    os.environ["OKTA_ORG_URL"] = url
    return sandbox


class CounterSampler:
    """Samples the sandbox's counters a few times a second in a thread, to find how many
    requests succeeded in a rate-limit window afterwards."""

    def __init__(self, sandbox: Sandbox, interval: float = 0.2) -> None:
        self.sandbox = sandbox
        self.interval = interval
        self.samples: list[tuple[float, dict[str, Any]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> CounterSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                self.samples.append((time.time(), self.sandbox.counters()))
            self._stop.wait(self.interval)

    def at(self, moment: float) -> dict[str, Any] | None:
        """The last sample taken at or before ``moment``."""
        best = None
        for stamp, sample in self.samples:
            if stamp <= moment:
                best = sample
            else:
                break
        return best

    def span(self, value: Callable[[dict[str, Any]], int]) -> tuple[float, float] | None:
        """(opened, finished): the last sample before ``value`` first moved and the first
        sample at its final value; None when it never moved."""
        if len(self.samples) < 2:
            return None
        base, final = value(self.samples[0][1]), value(self.samples[-1][1])
        if final == base:
            return None
        opened = next(
            self.samples[i - 1][0]
            for i in range(1, len(self.samples))
            if value(self.samples[i][1]) > base
        )
        finished = next(t for t, sample in self.samples if value(sample) >= final)
        return opened, finished

    def first_window(
        self, value: Callable[[dict[str, Any]], int], limit: int
    ) -> dict[str, Any] | None:
        """What ``value`` (a success count) gained in the bucket's first rate-limit window.

        The sandbox opens a window at the bucket's first request and keeps it 60 s. The window
        is taken to open at the last sample before the count first moved, so it may end up to
        one sampling interval early: the ratio errs low, never high. None when the work ended
        inside the first window (the limit never bound, so there is no rate to judge).
        """
        span = self.span(value)
        if span is None or span[1] < span[0] + 60:
            return None
        opened = span[0]
        at_close = self.at(opened + 60) or self.samples[0][1]
        succeeded = value(at_close) - value(self.samples[0][1])
        return {
            "opened_at": round(opened, 2),
            "succeeded": succeeded,
            "ratio": round(succeeded / limit, 3),
        }
