"""Anthropic's text editor tool, boxed in a worktree: paths, files, commands."""
