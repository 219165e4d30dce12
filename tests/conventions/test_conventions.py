"""Conventions the codebase keeps: a pinned public API, twin parity, documented commands."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import memstrata
from memstrata import AsyncMemory, Memory
from memstrata.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]

PUBLIC_API = {
    "AddResult",
    "WorkingMemory",
    "reflect",
    "AsyncMemory",
    "ConfigurationError",
    "ConfirmationRequiredError",
    "ConflictError",
    "EmbedderMismatchError",
    "Filters",
    "HistoryEvent",
    "Hit",
    "InvalidInputError",
    "LLMError",
    "Memory",
    "MemoryRecord",
    "MemstrataError",
    "Message",
    "NotFoundError",
    "Page",
    "RemoteMemory",
    "Retrieval",
    "Scope",
    "ScopeRequiredError",
    "SearchResult",
    "Settings",
    "Signal",
    "StoreError",
    "__version__",
    "open_store",
}


def members(cls: type) -> dict[str, object]:
    """What ``cls`` and its bases (``object`` aside) define, the nearest first."""
    found: dict[str, object] = {}
    for base in cls.__mro__[:-1]:
        for name, member in vars(base).items():
            found.setdefault(name, member)
    return found


def public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in members(cls).items()
        if callable(member) and not name.startswith("_")
    }


def test_public_api_is_pinned() -> None:
    assert set(memstrata.__all__) == PUBLIC_API
    for name in memstrata.__all__:
        assert hasattr(memstrata, name)


def test_async_twin_has_the_same_methods_and_signatures() -> None:
    sync, async_ = public_methods(Memory), public_methods(AsyncMemory)
    assert set(sync) == set(async_)
    for name, signature in sync.items():
        assert async_[name].parameters.keys() == signature.parameters.keys(), name
        for param, spec in signature.parameters.items():
            twin = async_[name].parameters[param]
            assert (twin.kind, twin.default) == (spec.kind, spec.default), (name, param)
        if name == "follow":  # an iterator: the twin is an async one
            assert inspect.isasyncgenfunction(members(AsyncMemory)[name]), name
        elif name not in ("from_settings",):
            assert inspect.iscoroutinefunction(members(AsyncMemory)[name]), name


def cli_commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sorted(sub.choices)  # type: ignore[arg-type]


def test_every_cli_command_is_in_help_and_in_the_readme() -> None:
    help_text = build_parser().format_help()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in cli_commands():
        assert re.search(rf"\b{command}\b", help_text), command
        assert f"memstrata {command}" in readme, f"README does not show `memstrata {command}`"


def test_no_module_outside_settings_reads_the_environment() -> None:
    src = ROOT / "src" / "memstrata"
    offenders = [
        str(path.relative_to(src))
        for path in src.rglob("*.py")
        if path.name != "settings.py"
        and re.search(r"os\.environ|os\.getenv", path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_no_backend_name_outside_stores() -> None:
    src = ROOT / "src" / "memstrata"
    offenders = []
    for path in src.rglob("*.py"):
        rel = path.relative_to(src)
        if rel.parts[0] in ("stores", "cli.py") or rel.name in ("settings.py",):
            continue
        if re.search(r"\bsqlite3\b|\bpsycopg\b", path.read_text(encoding="utf-8")):
            offenders.append(str(rel))
    assert offenders == []
