"""The embedded broker writes each message file whole (core/broker.py): a worker polling the
folder never reads a message while it is being written, so none is read empty or lost."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path
from queue import Empty
from typing import Any

import pytest
from kombu import Connection

from core import broker


def channel(folder: Path) -> Any:
    connection = Connection(
        "filesystem://",
        transport=broker.Transport,
        transport_options={
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "store_processed": False,
        },
    )
    return connection.default_channel


def test_a_message_is_invisible_until_written_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer, reader = channel(tmp_path), channel(tmp_path)
    seen_while_writing: list[str] = []
    real_replace = os.replace

    def replace(src: str, dst: str) -> None:
        # The file is complete under its partial name: a reader looking now finds nothing.
        seen_while_writing.extend(os.listdir(tmp_path))
        with pytest.raises(Empty):
            reader._get("celery")
        real_replace(src, dst)

    monkeypatch.setattr(broker.os, "replace", replace)
    writer._put("celery", {"body": "x" * 100_000})

    assert len(seen_while_writing) == 1 and seen_while_writing[0].endswith(".msg.part")
    assert reader._get("celery") == {"body": "x" * 100_000}
    assert os.listdir(tmp_path) == []


def _write(folder: str, start: int, count: int) -> None:
    out = channel(Path(folder))
    for n in range(start, count, 2):
        out._put("celery", {"n": n, "pad": "y" * 400_000})


def test_writers_in_other_processes_and_a_reader_lose_nothing(tmp_path: Path) -> None:
    """As a web process and a worker share the folder: two writer processes, one reader that
    takes files as soon as they appear. Every message arrives whole, once."""
    count = 120
    got: list[int] = []
    errors: list[str] = []
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_write, args=(str(tmp_path), s, count)) for s in (0, 1)]
    for process in writers:
        process.start()
    source = channel(tmp_path)
    while len(got) + len(errors) < count:
        try:
            got.append(source._get("celery")["n"])
        except Empty:
            if not any(p.is_alive() for p in writers) and not os.listdir(tmp_path):
                break
        except ValueError as exc:  # a message read before it was written whole
            errors.append(str(exc))
    for process in writers:
        process.join(timeout=60)

    assert errors == []
    assert sorted(got) == list(range(count))
