"""Kilo Code (``kilocode.kilo-code``): Cline-format task files in every VS Code variant; requests
record ``apiProtocol`` and ``usageMissing``. agent-formats.md 9."""

from __future__ import annotations

from agenttail.agents.cline_tasks import ClineFamilyAgent


class KiloCodeAgent(ClineFamilyAgent):
    name = "kilo_code"
    display_name = "Kilo Code"
    extension_id = "kilocode.kilo-code"
