"""Processes: the repo's commands, the bubblewrap box, the ledger of what runs, thread priority."""
