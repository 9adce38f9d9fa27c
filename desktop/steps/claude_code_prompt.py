"""What Claude Code is told on top of its own system prompt: Honk's rules for a change, in
Claude Code's tool names, and the repo's own instructions, quoted as the built-in engine
quotes them (``setting_sources=[]`` keeps the CLI from loading CLAUDE.md by itself, along
with the settings and hooks beside it)."""

from __future__ import annotations

from pathlib import Path

from desktop.steps.agent_prompt import change_rules, repo_instructions

__all__ = ["claude_code_prompt"]

_RULES = """\
You are working for Honk, making one requested change to a mobile app's repository. A \
person reviews, tests on a phone and approves every change before it ships.

How you work here:
- Your working directory is the repository, checked out for you. Only Read, Edit, Write, \
Glob and Grep are available, plus mcp__honk__run_verifiers. There is no shell, no network \
and no git; you cannot push or merge. Files outside the repository and under .git are out \
of reach, and Honk refuses any call that reaches for them.
""" + change_rules("mcp__honk__run_verifiers")


def claude_code_prompt(worktree: Path) -> str:
    """Honk's rules plus the repo's AGENTS.md / CLAUDE.md, if it has them."""
    return "\n\n".join([_RULES, *repo_instructions(worktree)])
