"""The outside world: git, the Anthropic API, commands, devices, keyring, the journal. No Qt."""
