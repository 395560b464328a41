"""``python -m chat.emulator --port 8902 --signing-secret S --interactions-url URL``."""

from __future__ import annotations

import argparse

DEFAULT_TOKEN = "xoxb-demo-slack-token"
DEFAULT_SECRET = "demo-slack-signing-secret"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m chat.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8902, help="port (0 picks a free one)")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the bot token (xoxb-) to accept")
    parser.add_argument("--signing-secret", default=DEFAULT_SECRET, help="signs interactions")
    parser.add_argument(
        "--interactions-url",
        default="http://127.0.0.1:8000/chat/slack/interactions/",
        help="where button clicks are POSTed (Gatehouse's interactivity endpoint)",
    )
    parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="stop when the parent process dies (used by the test fixtures)",
    )
    parser.add_argument("--log-level", default="warning")
    options = parser.parse_args(argv)

    from chat.emulator.server import serve

    serve(
        host=options.host,
        port=options.port,
        token=options.token,
        signing_secret=options.signing_secret,
        interactions_url=options.interactions_url,
        exit_with_parent=options.exit_with_parent,
        log_level=options.log_level,
    )


if __name__ == "__main__":
    main()
