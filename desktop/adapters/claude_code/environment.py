"""What the Claude Code CLI may see of this computer: its environment and its home.

The CLI gets what a verifier gets (``scrubbed_env``: no credentials, nothing of Honk's) and
then only the basics a program needs (``PATH``, locale, temp dir, a proxy if the person uses
one), plus what Claude Code itself needs: the API key, the API's base URL, and its state
directories under ``HONK_HOME/claude-code`` rather than the person's ``~/.claude``.
``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`` keeps it from reaching any host but the API
(no telemetry, no update checks).
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from desktop.adapters.claude_code import launch
from desktop.adapters.process.commands import scrubbed_env

__all__ = ["CliPlaces", "cli_environment", "keep_list", "write_wrapper"]

# Read from the person's environment, then scrubbed like a verifier's.
_BASICS = ("PATH", "LANG", "LANGUAGE", "TZ", "TMPDIR", "USER", "LOGNAME", "TERM")
# Needed to reach the API from behind a corporate proxy or with a private CA.
_NETWORK = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy",
            "SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS")
# What the SDK sets for its CLI (ClaudeAgentOptions.env docs); the launcher passes them on.
_SDK_PROTOCOL = ("CLAUDE_CODE_ENTRYPOINT", "CLAUDE_AGENT_SDK_VERSION",
                 "CLAUDE_CODE_SDK_READS_SESSION_STATE", "PWD")


@dataclass(frozen=True)
class CliPlaces:
    """Where Claude Code keeps its state for Honk (all under ``root``, in HONK_HOME)."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config"  # CLAUDE_CONFIG_DIR: sessions, settings, caches

    @property
    def home(self) -> Path:
        return self.root / "home"  # HOME: the person's dotfiles stay out of reach

    @property
    def run(self) -> Path:
        return self.root / "run"  # pid files of running CLIs

    @property
    def wrapper(self) -> Path:
        return self.root / "bin" / "claude"

    def make(self) -> None:
        for path in (self.config, self.home, self.run, self.wrapper.parent):
            path.mkdir(parents=True, exist_ok=True, mode=0o700)


def cli_environment(
    base: Mapping[str, str], *, api_key: str, base_url: str, places: CliPlaces,
    secrets: Iterable[str] = (), max_retries: int = 3, max_output_tokens: int | None = None,
) -> dict[str, str]:
    """The CLI's whole environment (the launcher drops anything else the SDK passes on)."""
    wanted = {k: v for k, v in base.items()
              if k in _BASICS or k in _NETWORK or k.startswith("LC_")}
    env = scrubbed_env(wanted, [*secrets, api_key])
    env.update({
        "HOME": str(places.home),
        "CLAUDE_CONFIG_DIR": str(places.config),
        "ANTHROPIC_API_KEY": api_key,
        "ANTHROPIC_BASE_URL": base_url,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        # The CLI retries a failed request itself (cut streams, 5xx, 429); its default of
        # 10 retries backs off for minutes before a broken API ends the stage.
        "CLAUDE_CODE_MAX_RETRIES": str(max_retries),
    })
    if max_output_tokens is not None:
        env["CLAUDE_CODE_MAX_OUTPUT_TOKENS"] = str(max_output_tokens)
    return env


def keep_list(env: Mapping[str, str]) -> str:
    """The ``HONK_CLAUDE_KEEP`` value for ``env``: its names and the SDK's own."""
    return ",".join(sorted({*env, *_SDK_PROTOCOL}))


def write_wrapper(places: CliPlaces) -> Path:
    """Write the shell wrapper the SDK starts as its CLI (see ``launch``); returns its path.

    Written on every run (atomically; the same bytes unless Python moved), so a moved venv
    never leaves a stale one behind.
    """
    places.make()
    text = (f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -I -S "
            f"{shlex.quote(str(Path(launch.__file__).resolve()))} \"$@\"\n")
    target = places.wrapper
    if target.is_file() and target.read_text() == text:
        return target
    tmp = target.with_name(f".claude.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.chmod(0o700)
    os.replace(tmp, target)
    return target
