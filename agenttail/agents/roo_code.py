"""Roo Code (``rooveterinaryinc.roo-cline``): Cline-format task files in every VS Code variant;
requests record ``apiProtocol``. agent-formats.md 9."""

from __future__ import annotations

from agenttail.agents.cline_tasks import ClineFamilyAgent


class RooCodeAgent(ClineFamilyAgent):
    name = "roo_code"
    display_name = "Roo Code"
    extension_id = "rooveterinaryinc.roo-cline"
