"""Cline (``saoudrizwan.claude-dev``): task files in every VS Code variant, and the home-data
folder ``~/.cline/data`` of its standalone hosts (JetBrains, CLI). agent-formats.md 9."""

from __future__ import annotations

from agenttail.agents.base import Roots
from agenttail.agents.cline_tasks import ClineFamilyAgent


class ClineAgent(ClineFamilyAgent):
    name = "cline"
    display_name = "Cline"
    extension_id = "saoudrizwan.claude-dev"
    locations = Roots(default=("~/.cline/data",))
