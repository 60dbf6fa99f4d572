"""The command line as the README describes it, and the links it prints.

Every `careplan ...` command the README shows exists and takes the options shown with it;
`careplan --help` lists no command of ours that the README leaves out. The links that
`careplan demo` prints, and those in the reminders the scheduler then sends, point at the port
the app runs on."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from careplan import create_app
from careplan.cli import command_group
from careplan.db.models import Document, User
from careplan.extensions import DB_KEY
from careplan.reminders import scheduler
from careplan.reminders.mail import OutboxFileMailer
from tests.scheduling import reminders_clock

ROOT = Path(__file__).resolve().parents[2]
CAREPLAN = Path(sys.executable).parent / "careplan"  # the console script, as installed
FLASK_OWN = {"run", "shell", "routes"}  # Flask's commands, not described in the README


def readme_commands() -> dict[str, set[str]]:
    """{command: options shown with it} for every `careplan ...` in the README's code."""
    text = (ROOT / "README.md").read_text()
    code, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif fenced:
            code.append(line)
    code += re.findall(r"`(careplan [^`]+)`", text)
    commands: dict[str, set[str]] = defaultdict(set)
    for line in code:
        line = line.split(" #")[0].strip()
        if not line.startswith("careplan "):
            continue
        words = shlex.split(line)[1:]
        if words and not words[0].startswith("-"):
            commands[words[0]] |= {w.split("=")[0] for w in words[1:] if w.startswith("--")}
    return commands


def cli_env(tmp_path, **more) -> dict[str, str]:
    return {
        "CAREPLAN_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}",
        **more,
    }


def test_careplan_help_lists_exactly_the_commands_the_readme_describes(tmp_path):
    out = subprocess.run(
        [str(CAREPLAN), "--help"],
        env={"PATH": "/usr/bin:/bin", **cli_env(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    listed = set(re.findall(r"^  ([a-z][a-z-]*)\s", out.split("Commands:")[1], re.M))
    assert listed - FLASK_OWN == set(readme_commands())


@pytest.mark.parametrize("command", sorted(readme_commands()))
def test_each_command_the_readme_lists_runs_with_help_and_takes_its_options(command, tmp_path):
    result = CliRunner().invoke(
        command_group(), [command, "--help"], env=cli_env(tmp_path), prog_name="careplan"
    )
    assert result.exit_code == 0, result.output
    for option in readme_commands()[command]:
        assert option in result.output, f"careplan {command} has no {option}"


def test_demo_and_the_reminders_it_leads_to_link_to_the_port_the_app_runs_on(
    database_url, tmp_path, monkeypatch
):
    env = cli_env(
        tmp_path,
        DATABASE_URL=database_url,
        PORT="8123",
        CAREPLAN_ARGON2_TIME_COST="1",
        CAREPLAN_ARGON2_MEMORY_KIB="1024",
    )
    result = CliRunner().invoke(command_group(), ["demo"], env=env, prog_name="careplan")
    assert result.exit_code == 0, result.output
    assert "Open http://127.0.0.1:8123/ " in result.output and ":5000" not in result.output

    # The scheduler that scripts/run starts next to it (same environment) sends the demo's
    # first reminders: their links use the same port.
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    app = create_app()
    outbox = tmp_path / "outbox.jsonl"
    ctx = scheduler.context_for(app, reminders_clock(app), OutboxFileMailer(outbox))
    try:
        scheduler.sweep_reminders(ctx)
        scheduler.send_reminders(ctx)
        with ctx.db.read() as s:
            alex = s.scalar(select(User).where(User.email == "alex@demo.careplan"))
            doc = s.scalar(select(Document.id).where(Document.next_review_on.is_not(None)))
    finally:
        app.extensions[DB_KEY].dispose()
    [body] = [m["body"] for m in map(json.loads, outbox.open()) if m["to"] == alex.email]
    assert f"http://127.0.0.1:8123/documents/{doc}" in body and ":5000" not in body
