"""A LangChain agent whose long-term memory is memstrata.

Its tools search and remember for one user; the LangGraph store is memstrata too, and a prompt
hook reads it before every model call, so the agent starts each turn knowing the user.
"""

from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import ModelRequest, dynamic_prompt
from langchain_core.language_models import BaseChatModel

from memstrata import Memory
from memstrata.integrations.langchain import memstrata_tools
from memstrata.integrations.langgraph import MemstrataStore


def build_agent(memory: Memory, model: BaseChatModel, user_id: str) -> Any:
    store = MemstrataStore(memory, namespace=("memories", "{user_id}"))

    @dynamic_prompt
    def recall(request: ModelRequest) -> str:
        question = next(m.text for m in reversed(request.messages) if m.type == "human")
        found = request.runtime.store.search(("memories", user_id), query=question, limit=3)
        known = "\n".join(f"- {item.value['text']}" for item in found)
        return f"You help {user_id}. What you know about them:\n{known}"

    tools = memstrata_tools(memory, user_id=user_id)
    return create_agent(model, tools=tools, middleware=[recall], store=store)


if __name__ == "__main__":
    from langchain_openai import ChatOpenAI

    memory = Memory()
    memory.add("I moved to Lisbon in May", user_id="ada")
    agent = build_agent(memory, ChatOpenAI(model="gpt-4o-mini"), user_id="ada")
    reply = agent.invoke({"messages": [{"role": "user", "content": "Where do I live now?"}]})
    print(reply["messages"][-1].text)
