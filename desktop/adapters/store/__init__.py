"""What Honk keeps on disk: the change journal, the audit log, the locks."""
