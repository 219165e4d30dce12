"""A pydantic-ai agent with memstrata's memory tools for one user."""

from pydantic_ai import Agent
from pydantic_ai.models import Model

from memstrata import Memory
from memstrata.integrations.pydantic_ai import MemstrataToolset


def build_agent(memory: Memory, model: str | Model, user_id: str) -> Agent[None, str]:
    return Agent(model, toolsets=[MemstrataToolset(memory, user_id=user_id)])


if __name__ == "__main__":
    memory = Memory()
    memory.add("I moved to Lisbon in May", user_id="ada")
    agent = build_agent(memory, "openai:gpt-4o-mini", user_id="ada")
    print(agent.run_sync("Where do I live now?").output)
