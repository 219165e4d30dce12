"""The runnable example in docs/llm.md runs, so the documentation cannot rot."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "llm.md"
TESTED = "<!-- tested: tests/unit/test_llm_docs.py runs this block -->\n```python\n"


def test_scripted_server_example_runs() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert TESTED in text
    block = text.split(TESTED, 1)[1].split("```", 1)[0]
    exec(compile(block, str(DOC), "exec"), {})


def test_every_server_has_a_config_example() -> None:
    text = DOC.read_text(encoding="utf-8")
    for server in ("OpenAI", "Ollama", "vLLM", "llama.cpp", "LM Studio"):
        assert f"### {server}" in text
    for name in ("MEMSTRATA_LLM_BASE_URL", "MEMSTRATA_LLM_MODEL", "MEMSTRATA_LLM_API_KEY"):
        assert name in text
