"""The Slack bridge: requests, progress, approval and revision from a phone, over the same
use cases as the window and the CLI."""
