"""Agent plugins: where an agent's sessions live and what its records mean."""

from agenttail.agents.base import Agent, AgentContext, StreamRef, StreamSpec, StreamState
from agenttail.agents.registry import load_agents

__all__ = ["Agent", "AgentContext", "StreamRef", "StreamSpec", "StreamState", "load_agents"]
