"""Loading the optional SDK: missing, it says the install command; its CLI can be chosen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from desktop.adapters.claude_code.sdk import (
    CLI_ENV,
    INSTALL_HINT,
    ClaudeCodeMissing,
    load_sdk,
    real_cli,
)


def test_without_the_sdk_the_error_says_the_install_command() -> None:
    # A fresh interpreter where the package cannot be imported (None in sys.modules).
    code = ("import sys; sys.modules['claude_agent_sdk'] = None\n"
            "from desktop.adapters.claude_code.sdk import ClaudeCodeMissing, load_sdk\n"
            "try:\n    load_sdk()\nexcept ClaudeCodeMissing as exc:\n    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.startswith("Claude Code engine needs: pip install 'honk-desktop[claude-code]'")
    assert INSTALL_HINT == "Claude Code engine needs: pip install 'honk-desktop[claude-code]'"


def test_importing_the_adapter_does_not_import_the_sdk() -> None:
    code = ("import sys\nimport desktop.adapters.claude_code.session\n"
            "import desktop.steps.claude_code_agent\n"
            "print('claude_agent_sdk' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip() == "False"


def test_the_bundled_cli_is_used_by_default() -> None:
    sdk = load_sdk()
    cli = real_cli(sdk, {})
    assert cli.name == "claude" and cli.parent.name == "_bundled" and cli.is_file()


def test_honk_claude_cli_chooses_another_cli(tmp_path: Path) -> None:
    sdk = load_sdk()
    other = tmp_path / "claude"
    other.write_text("#!/bin/sh\n")
    other.chmod(0o755)
    assert real_cli(sdk, {CLI_ENV: str(other)}) == other.resolve()
    other.chmod(0o644)
    with pytest.raises(ClaudeCodeMissing, match=r"HONK_CLAUDE_CLI=.*: not an executable file"):
        real_cli(sdk, {CLI_ENV: str(other)})
