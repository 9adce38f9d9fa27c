"""PySide6 widgets: thin views over the core's events."""
