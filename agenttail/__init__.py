"""agenttail: usage and cost metrics for AI coding agents, tailed from their session files."""

__version__ = "0.1.0"
