"""A LlamaIndex agent whose long-term memory is memstrata.

The chat memory holds the recent turns and a memstrata block: before every model call the block
adds what memstrata remembers about the latest message, and the turns that leave the recent
window are kept in memstrata. The agent can also search and remember on purpose, with tools.
"""

from llama_index.core.agent.workflow import ReActAgent
from llama_index.core.llms import LLM
from llama_index.core.memory import InsertMethod
from llama_index.core.memory import Memory as ChatMemory

from memstrata import Memory
from memstrata.integrations.llamaindex import MemstrataMemoryBlock, memstrata_tools


def build_agent(memory: Memory, llm: LLM, user_id: str) -> ReActAgent:
    return ReActAgent(tools=memstrata_tools(memory, user_id=user_id), llm=llm, streaming=False)


def chat_memory(memory: Memory, user_id: str, session_id: str) -> ChatMemory:
    block = MemstrataMemoryBlock(memory=memory, user_id=user_id, limit=3)
    return ChatMemory.from_defaults(
        session_id=session_id,
        memory_blocks=[block],
        insert_method=InsertMethod.USER,  # a ReAct agent replaces the system message
        token_limit=2000,
    )


async def ask(agent: ReActAgent, chat: ChatMemory, text: str) -> str:
    return str(await agent.run(text, memory=chat))


if __name__ == "__main__":
    import asyncio

    from llama_index.llms.openai import OpenAI

    memory = Memory()
    memory.add("I moved to Lisbon in May", user_id="ada")
    agent = build_agent(memory, OpenAI(model="gpt-4o-mini"), user_id="ada")
    chat = chat_memory(memory, user_id="ada", session_id="monday")
    print(asyncio.run(ask(agent, chat, "Where do I live now?")))
