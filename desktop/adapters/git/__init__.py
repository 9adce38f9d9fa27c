"""Git through its CLI: the one `git()` entry, worktrees per change, the merge route."""
