"""Agent plugins: where an agent's sessions live and what its records mean.

Built-ins and third-party plugins alike register in the ``agenttail.agents`` entry-point group;
``agenttail.agents.registry.load_agents`` loads them.
"""

from agenttail.agents.base import Agent, AgentContext, StreamRef, StreamSpec, StreamState

__all__ = ["Agent", "AgentContext", "StreamRef", "StreamSpec", "StreamState"]
