"""`honk`'s command line: the commands, their options and their help. No Qt; argparse is
imported only when the parser is built."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

__all__ = ["build_parser"]


def build_parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="honk",
        description="Ship a mobile-app change with an AI agent while a person stays in charge. "
        "Without a command, opens the window.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="make a change from a request, headless")
    run.add_argument("request", help="what to change, in plain words")
    run.add_argument("--repo", default=".", type=Path, help="the git repository (default: .)")
    run.add_argument("--json", action="store_true", help="one JSON event per line")
    run.add_argument("--model", help="model id (default: honk.toml's [agent] model)")
    run.add_argument("--max-turns", type=_positive_int, help="cap on model turns")
    run.add_argument("--target", help="branch to cut from and merge into")
    run.add_argument("--device", help="device serial to install on")
    run.add_argument("--engine", choices=("messages", "claude-code"),
                     help="agent engine (default: honk.toml's [agent] engine)")
    run.add_argument("--approve", action="store_true",
                     help="approve and merge at the end if every required gate holds (scripted flow)")

    for name, help_text in (("history", "list changes"), ("show", "one change in full")):
        p = sub.add_parser(name, help=help_text)
        if name == "show":
            p.add_argument("id", help="change id (a unique prefix is enough)")
        else:
            p.add_argument("-n", "--limit", type=_positive_int, default=50,
                           help="newest N changes (default 50)")
            p.add_argument("--all", action="store_true", help="every change ever made")
        p.add_argument("--json", action="store_true")

    resume = sub.add_parser("resume", help="continue an interrupted change")
    resume.add_argument("id")
    resume.add_argument("--json", action="store_true")

    revise = sub.add_parser("revise", help="send a follow-up request to a change")
    revise.add_argument("id")
    revise.add_argument("message")
    revise.add_argument("--json", action="store_true")

    reject = sub.add_parser("reject", help="discard a change's worktree and branch")
    reject.add_argument("id")
    reject.add_argument("--reason", default="")

    install = sub.add_parser("install", help="install a change's existing build again (never "
                             "builds): on --device, or the device the change chose")
    install.add_argument("id")
    install.add_argument("--device", help="device serial (see `honk devices`)")
    install.add_argument("--json", action="store_true")

    approve = sub.add_parser("approve", help="approve a change's tested commit and merge it")
    approve.add_argument("id")
    approve.add_argument("--reason", default="", help="why (required with --override)")
    approve.add_argument("--override", action="store_true",
                         help="approve although a required gate is not met (journalled)")
    approve.add_argument("--json", action="store_true")

    slack = sub.add_parser("slack", help="serve change requests from Slack (Socket Mode) until "
                           "SIGINT/SIGTERM; changes still running are left resumable")
    slack.add_argument("--repo", action="append", default=[], metavar="[NAME=]PATH",
                       help="a checkout to serve (repeat for several; NAME defaults to its "
                       "folder name); its honk.toml needs [slack] approvers")
    slack.add_argument("--device", help="device serial Slack changes install on (default: "
                       "the one connected Android device, if exactly one)")
    slack.add_argument("--json", action="store_true", help="one JSON event per line")

    devices = sub.add_parser("devices", help="list connected test devices (Android, iOS)")
    devices.add_argument("--json", action="store_true")

    key = sub.add_parser("key", help="store a secret in the OS keyring (never in a file)")
    key.add_argument("action", choices=["set"])
    # desktop.app.keys.KEY_NAMES, written out: importing it costs `honk --help` ~20 ms.
    key.add_argument("name", choices=["anthropic", "github", "slack-bot", "slack-app"])

    demo = sub.add_parser("demo", help="try the whole flow with a scripted model and a virtual "
                          "phone (no API key, phone or token needed)")
    demo.add_argument("--headless", action="store_true",
                      help="run one suggested request through the CLI instead of the window")
    demo.add_argument("--json", action="store_true", help="one JSON event per line")
    demo.add_argument("--request", metavar="TEXT",
                      help="with --headless: play this request, in your own words, instead of "
                           "the first suggested one")
    demo.add_argument("--remote-build", action="store_true",
                      help="build on a loopback GitHub Actions (dispatch, "
                           "follow the run, download its artifact) instead of locally")

    journal = sub.add_parser("journal", help="the change journal (HONK_HOME/journal.sqlite3)")
    journal_sub = journal.add_subparsers(dest="journal_command", metavar="ACTION", required=True)
    journal_sub.add_parser("repair", help="set a damaged journal aside (never deleted) and "
                           "copy every event that can still be read into a new one")

    audit = sub.add_parser("audit", help="the tamper-evident audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    audit_sub.add_parser("verify", help="recompute the hash chain")
    export = audit_sub.add_parser("export", help="write the log out")
    export.add_argument("--json", action="store_true", required=True)
    return parser


def _positive_int(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value
