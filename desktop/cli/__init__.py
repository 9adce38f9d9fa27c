"""The `honk` command and its printers. No Qt."""
