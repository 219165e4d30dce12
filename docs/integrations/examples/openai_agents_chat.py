"""An OpenAI Agents SDK agent whose conversations and long-term memory live in memstrata.

Each conversation is a ``MemstrataSession`` (the SDK replays it on every run), and the agent's
tools search and remember across all of the user's conversations.
"""

from agents import Agent, Model, RunConfig, Runner

from memstrata import Memory
from memstrata.integrations.openai_agents import MemstrataSession, memstrata_tools
from memstrata.integrations.tools import INSTRUCTIONS


def build_agent(memory: Memory, model: str | Model, user_id: str) -> Agent:
    return Agent(
        name="assistant",
        instructions=INSTRUCTIONS,
        model=model,
        tools=memstrata_tools(memory, user_id=user_id),
    )


async def chat(agent: Agent, memory: Memory, user_id: str, conversation: str, text: str) -> str:
    session = MemstrataSession(conversation, memory, user_id=user_id)
    config = RunConfig(tracing_disabled=True)
    result = await Runner.run(agent, text, session=session, run_config=config)
    return str(result.final_output)


if __name__ == "__main__":
    import asyncio

    memory = Memory()
    agent = build_agent(memory, "gpt-4o-mini", user_id="ada")
    print(asyncio.run(chat(agent, memory, "ada", "monday", "I moved to Lisbon in May.")))
    print(asyncio.run(chat(agent, memory, "ada", "friday", "Where do I live now?")))
