"""The headless driver: `honk run`, `honk history`, `honk show` ... No Qt.

`honk` with no arguments opens the window (imported lazily so the CLI never loads Qt).
Exit codes: 0 the change reached its end state, 1 a stage failed, 2 bad usage or config.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from desktop.cli.parser import build_parser

if TYPE_CHECKING:
    import argparse

    from desktop.app.services import Services
    from desktop.cli.output import HumanPrinter, JsonPrinter
    from desktop.core.stages import ChangeState

# Only the parser (argparse, imported when used) at module level: the window path (`honk`
# alone) and `--help` must not pay for the CLI's printers, the event types or the adapters;
# each command imports what it uses.

__all__ = ["build_parser", "main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    if not (sys.argv[1:] if argv is None else argv):  # `honk` alone: straight to the window
        from desktop.ui.launch import run_gui

        return run_gui()
    args = build_parser().parse_args(argv)
    if args.command is None:
        from desktop.ui.launch import run_gui  # Qt only here

        return run_gui()
    if args.command == "demo":
        return _demo(args)
    if args.command == "journal":
        return _repair_journal()
    if args.command in ("history", "show"):
        return _read_only(args, sys.stdout)  # no event loop: asyncio alone costs ~30 ms
    import asyncio

    try:
        return asyncio.run(_dispatch(args, sys.stdout))
    except KeyboardInterrupt:
        return 130


def _demo(args: argparse.Namespace) -> int:
    """`honk demo`: its own throw-away services, never the person's HONK_HOME."""
    import asyncio

    from desktop.demo.environment import DemoError, run_headless

    if not args.headless:
        if args.request is not None:  # the window has its own composer
            return _usage("--request goes with --headless: honk demo --headless --request TEXT")
        from desktop.ui.launch import run_gui  # Qt only here

        try:
            return run_gui(demo=True, demo_remote_build=args.remote_build)
        except DemoError as exc:
            return _usage(str(exc))
    try:
        return asyncio.run(run_headless(sys.stdout, json_lines=args.json, text=args.request,
                                        remote_build=args.remote_build))
    except DemoError as exc:
        return _usage(str(exc))
    except KeyboardInterrupt:
        return 130


async def _dispatch(args: argparse.Namespace, out: TextIO) -> int:
    from desktop.app.errors import (
        ConfigError,
        JournalDamaged,
        JournalError,
        LockBusy,
        UsageError,
        WorkspaceError,
    )
    from desktop.app.services import MissingKey, build_services

    try:
        services = build_services()
    except JournalError as exc:
        return _usage(str(exc))
    try:
        return await _command(args, services, out)
    except (UsageError, ConfigError, WorkspaceError, MissingKey, LockBusy) as exc:
        return _usage(str(exc))
    except JournalError as exc:  # e.g. the disk filled up mid-run: the change stays resumable
        print(f"honk: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except JournalDamaged as exc:  # a page went bad after the journal was opened
        return _damaged(services, exc)
    finally:
        await services.context.aclose()
        services.close()


def _damaged(services: Services, exc: Exception) -> int:
    print(f"honk: the journal {services.journal.path} is damaged ({exc}). It was left "
          "untouched; run `honk journal repair` to copy what can be saved into a new one.",
          file=sys.stderr)
    return EXIT_FAILED


def _read_only(args: argparse.Namespace, out: TextIO) -> int:
    """`honk history` and `honk show`: read the journal and print, on this thread."""
    from desktop.app.errors import JournalDamaged, JournalError, UsageError
    from desktop.app.services import build_services

    try:
        services = build_services()
    except JournalError as exc:
        return _usage(str(exc))
    try:
        return _print_changes(args, services, out)
    except UsageError as exc:
        return _usage(str(exc))
    except JournalError as exc:
        print(f"honk: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except JournalDamaged as exc:
        return _damaged(services, exc)
    finally:
        services.close()


def _print_changes(args: argparse.Namespace, services: Services, out: TextIO) -> int:
    from desktop.cli.output import HumanPrinter, view_to_dict
    from desktop.core.events import event_to_dict

    if args.command == "history":
        views = services.context.history(limit=None if args.all else args.limit)
        if args.json:
            for v in views:
                out.write(json.dumps(view_to_dict(v)) + "\n")
        else:
            HumanPrinter(out).history(views)
        return EXIT_OK
    view = services.context.view(args.id)
    if args.json:
        data = view_to_dict(view)
        data["events"] = [event_to_dict(e) for e in services.journal.events(view.id)]
        out.write(json.dumps(data) + "\n")
    else:
        HumanPrinter(out).show(view)
    return EXIT_OK


async def _command(args: argparse.Namespace, services: Services, out: TextIO) -> int:
    from desktop.cli.output import HumanPrinter, JsonPrinter
    from desktop.core.stages import ChangeState

    changes = services.changes
    if args.command == "reject":
        await services.approvals.reject(args.id, args.reason)
        out.write(f"rejected {services.context.view(args.id).id}: worktree and branch removed\n")
        return EXIT_OK
    if args.command == "audit":
        if args.audit_command == "export":
            out.write(services.audit.export_json() + "\n")
            return EXIT_OK
        report = services.audit.verify()
        out.write(f"{report}\n")
        return EXIT_OK if report.ok else EXIT_FAILED
    if args.command == "devices":
        return await _devices(services, out, as_json=args.json)
    if args.command == "slack":
        return await _slack(services, args, out)
    if args.command == "key":
        return _store_key(services, args.name)
    if args.command == "install":
        return await _install(services, args, out)
    if args.command == "approve":
        printer = JsonPrinter(out) if args.json else HumanPrinter(out)
        return await _approve(services, args.id, printer, reason=args.reason,
                              override=args.override)

    printer = JsonPrinter(out) if args.json else HumanPrinter(out)
    if args.command == "run":
        services.require_key()
        from desktop.core.options import RunOptions

        options = RunOptions(
            model=args.model, max_turns=args.max_turns, target=args.target, device=args.device,
            engine=args.engine,
        )
        unsubscribe = services.bus.subscribe(printer.on_event)
        ctx, workspace, worktree = changes.create(args.request, args.repo, options)
        state = await _run_cancellable(changes.run(ctx, workspace, worktree))
        change_id = ctx.change_id
    else:
        services.require_key()
        change_id = services.context.view(args.id).id
        unsubscribe = services.bus.subscribe(printer.on_event)
        coro = (
            changes.resume(args.id)
            if args.command == "resume"
            else changes.revise(args.id, args.message)
        )
        state = await _run_cancellable(coro)
    unsubscribe()
    if args.command == "run" and args.approve and state is ChangeState.AWAITING_APPROVAL:
        return await _approve(services, change_id, printer, reason="", override=False)
    printer.result(services.context.view(change_id))
    return EXIT_OK if state.succeeded else EXIT_FAILED


async def _approve(services: Services, change_id: str, printer: JsonPrinter | HumanPrinter,
                   *, reason: str, override: bool) -> int:
    from desktop.app.errors import MergeError

    unsubscribe = services.bus.subscribe(printer.on_event)
    try:
        await services.approvals.approve(change_id, reason=reason, override=override)
    except MergeError as exc:
        print(f"honk: merge failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        unsubscribe()
    printer.result(services.context.view(change_id))
    return EXIT_OK


async def _run_cancellable(coro: Coroutine[Any, Any, ChangeState]) -> ChangeState:
    """Run the pipeline; Ctrl+C cancels it cleanly (journalled as cancelled)."""
    import asyncio
    import signal

    from desktop.core.stages import ChangeState

    task = asyncio.ensure_future(coro)
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, task.cancel)
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    except (NotImplementedError, RuntimeError):  # not on the main thread / Windows
        pass
    try:
        return await task
    except asyncio.CancelledError:
        return ChangeState.CANCELLED


async def _slack(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    """`honk slack`: serve until SIGINT/SIGTERM; one line per connection state and event."""
    import asyncio
    import gc
    import signal

    from desktop.app.errors import SlackError
    from desktop.app.slack.serve import SlackServer, served_repos
    from desktop.cli.output import HumanPrinter, JsonPrinter

    repos = served_repos(args.repo)
    services.require_key()
    printer = JsonPrinter(out) if args.json else HumanPrinter(out)

    def line(kind: str, human: str, **fields: object) -> None:
        if args.json:
            out.write(json.dumps({"type": kind, "change": None, **fields}) + "\n")
        else:
            out.write(f"slack: {human}\n")
        out.flush()

    server = SlackServer(
        services, repos, device=args.device,
        on_status=lambda s: line("slack_status", s.state.value + (f" ({s.reason})" if s.reason
                                                                   else ""),
                                 state=s.state.value, reason=s.reason),
        on_problem=lambda message: line("slack_problem", f"problem: {message}",
                                        message=message),
        # A server lives for days: start-up's ~200k objects leave every later collection,
        # so a full one no longer pauses request handling for ~100 ms.
        after_warm_up=gc.freeze)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, server.stop)
    line("slack_serving", f"serving {', '.join(sorted(repos))} (Ctrl-C stops; changes still "
         "running are left resumable)", repos=sorted(repos))
    unsubscribe = services.bus.subscribe(printer.on_event)
    try:
        await server.run()
    except SlackError as exc:
        return _usage(str(exc))
    finally:
        unsubscribe()
    return EXIT_OK


async def _install(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    """`honk install ID`: the change's recorded artifact onto a device, nothing rebuilt."""
    from desktop.app.reinstall import InstallFailed, install_change
    from desktop.cli.output import HumanPrinter, JsonPrinter

    printer = JsonPrinter(out) if args.json else HumanPrinter(out)
    unsubscribe = services.bus.subscribe(printer.on_event)
    try:
        installed = await install_change(services.context, args.id, args.device)
    except InstallFailed as exc:
        print(f"honk: install failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        unsubscribe()
    if not args.json:
        out.write(f"installed {installed.artifact_sha256[:12]} on {installed.device}\n")
    return EXIT_OK


async def _devices(services: Services, out: TextIO, *, as_json: bool) -> int:
    from desktop.app.devices import list_devices

    rows, problems = await list_devices(services.installers)
    if as_json:
        for row in rows:
            out.write(json.dumps({"type": "device", "change": None, **row}) + "\n")
    else:
        for row in rows:
            label = row.get("model") or row.get("name") or ""
            out.write(f"{row['kind']:<8} {row.get('serial') or row.get('udid')}  "
                      f"{row.get('state', '')}  {label}  {row.get('hint', '')}\n")
        if not rows:
            out.write("no devices connected: plug a phone in with USB debugging on "
                      "(or `adb connect HOST:PORT`)\n")
    for problem in problems:
        print(f"honk: {problem}", file=sys.stderr)
    return EXIT_OK


def _repair_journal() -> int:
    """`honk journal repair`: refuses while any Honk process could be writing the journal."""
    import os

    from desktop.app.errors import RepairError, UsageError
    from desktop.app.home import default_home
    from desktop.app.journal_repair import repair_journal_in

    try:
        repair_journal_in(default_home(os.environ), print)
    except UsageError as exc:
        return _usage(str(exc))
    except (RepairError, OSError) as exc:
        print(f"honk: repair failed, the journal was left as it was: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _store_key(services: Services, name: str) -> int:
    import getpass

    from desktop.app.errors import UsageError
    from desktop.app.keys import KEY_LABELS, store_key

    label = KEY_LABELS[name]
    value = getpass.getpass(f"{label} (input hidden): ") if sys.stdin.isatty() else sys.stdin.readline()
    try:
        where = store_key(services.secrets, name, value)
    except UsageError as exc:
        return _usage(str(exc))
    print(f"stored the {label} in {where}")
    return EXIT_OK


def _usage(message: str) -> int:
    print(f"honk: {message}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
