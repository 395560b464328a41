"""The demo runs the Slack emulator and points Gatehouse's Slack and Teams settings at it."""

from __future__ import annotations

from pathlib import Path

from gatehouse.management.commands.demo import (
    HOST,
    SLACK_PORT,
    SLACK_SECRET,
    SLACK_TOKEN,
    WEB_PORT,
    Command,
    demo_people,
)


def test_the_demo_points_slack_and_teams_at_its_emulator(tmp_path: Path) -> None:
    command = Command()
    env = command.child_env(demo_people())
    assert env["SLACK_API_URL"] == f"http://{HOST}:{SLACK_PORT}/api/"
    assert (env["SLACK_BOT_TOKEN"], env["SLACK_SIGNING_SECRET"]) == (SLACK_TOKEN, SLACK_SECRET)
    assert env["TEAMS_WEBHOOK_URL"].startswith(f"http://{HOST}:{SLACK_PORT}/teams/webhook/")
    slack = command.commands(tmp_path)["slack"]
    assert slack[1:3] == ["-m", "chat.emulator"]
    given = dict(zip(slack[3::2], slack[4::2], strict=True))
    assert given == {
        "--host": HOST,
        "--port": str(SLACK_PORT),
        "--token": SLACK_TOKEN,
        "--signing-secret": SLACK_SECRET,
        "--interactions-url": f"http://{HOST}:{WEB_PORT}/chat/slack/interactions/",
    }
