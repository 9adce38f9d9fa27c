"""Android devices through the adb server's socket: discover, install, launch, errors."""
