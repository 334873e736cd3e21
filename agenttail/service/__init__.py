"""Installing agenttail as a per-user service: systemd on Linux, launchd on macOS."""
