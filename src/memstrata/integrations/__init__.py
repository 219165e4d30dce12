"""memstrata inside the agent frameworks people already use, one module per framework.

Each module imports its framework, so ``import memstrata`` imports none of them; install the
matching extra first (``pip install 'memstrata[langgraph]'``, ``[openai-agents]``,
``[pydantic-ai]``, ``[llamaindex]``):

- ``memstrata.integrations.langgraph``: ``MemstrataStore``, a LangGraph ``BaseStore``;
- ``memstrata.integrations.langchain``: ``memstrata_tools``, LangChain tools;
- ``memstrata.integrations.openai_agents``: ``MemstrataSession`` and ``memstrata_tools``;
- ``memstrata.integrations.pydantic_ai``: ``MemstrataToolset``;
- ``memstrata.integrations.llamaindex``: ``MemstrataMemoryBlock`` and ``memstrata_tools``.

What they share, with no framework in it, is ``memstrata.integrations.tools``.
"""
