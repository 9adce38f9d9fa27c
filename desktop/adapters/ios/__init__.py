"""iOS devices through the platform's tools (devicectl, libimobiledevice)."""
