"""The embedded broker: kombu's filesystem transport, with each message file written whole.

Kombu's own transport creates a message file under its final name and then writes into it,
while a worker polling the same folder may already have moved it away and read it empty: the
worker dies on the empty message ("Expecting value") and the message is lost. Here a message is
written under a name no reader picks up, then renamed into place, which is atomic on one
filesystem: a reader sees a whole message or none. ``filesystem://`` means this transport in
every process that loads the Celery app (gatehouse/celery.py); tests/faults/test_broker_files.py
shows the race.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

PARTIAL_SUFFIX = ".part"  # "<ms>_<uuid>.<queue>.msg.part": not "<queue>.msg", so never read


class Channel(filesystem.Channel):
    # The signature of kombu's filesystem Channel, which itself renames its base's argument.
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + PARTIAL_SUFFIX
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
