"""A local Slack for tests and the demo (see server.py); ``python -m chat.emulator --help``."""
