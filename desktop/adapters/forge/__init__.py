"""GitHub's REST API over httpx: the merge route (and Actions builds)."""
