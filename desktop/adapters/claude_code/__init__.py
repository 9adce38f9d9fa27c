"""Claude Code as an agent engine: the official SDK driving the Claude Code CLI, boxed."""
