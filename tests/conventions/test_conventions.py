"""Conventions the codebase keeps: a pinned public API, twin parity, documented commands."""

from __future__ import annotations

import contextlib
import inspect
import io
import re
import shlex
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


def shell_blocks(text: str) -> list[str]:
    """The shell code blocks of a Markdown text (fenced as bash, sh, console or unnamed),
    their continued lines joined."""
    blocks, lines, language = [], None, ""
    for line in text.splitlines():
        if not line.lstrip().startswith("```"):
            if lines is not None:
                lines.append(line)
        elif lines is None:
            lines, language = [], line.strip()[3:].strip()
        else:
            if language in ("", "bash", "sh", "console", "shell"):
                blocks.append("\n".join(lines).replace("\\\n", " "))
            lines = None
    return blocks


def documented_commands() -> list[tuple[str, list[str]]]:
    """Each ``memstrata ...`` command of the README's and docs/' shell blocks: its line and
    its arguments up to a comment or a shell operator (variables set before it dropped)."""
    out = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for block in shell_blocks(path.read_text(encoding="utf-8")):
            for line in block.splitlines():
                found = re.match(r"^\s*(?:\$ )?(?:[A-Z_]+=\S*\s+)*memstrata\s+(.*)$", line)
                if not found:
                    continue
                words = shlex.split(found[1], comments=True)
                ends = [
                    i for i, w in enumerate(words) if w in ("|", ">", ">>", "2>", "&&", "&", ";")
                ]
                out.append((f"{path.name}: {line.strip()}", words[: min(ends, default=len(words))]))
    return out


def test_every_documented_command_is_one_the_cli_takes() -> None:
    commands = documented_commands()
    assert len(commands) > 100  # the README's and the docs' own, read
    refused = []
    for where, argv in commands:
        try:
            with (
                contextlib.redirect_stderr(io.StringIO()),
                contextlib.redirect_stdout(io.StringIO()),
            ):
                build_parser().parse_args(argv)
        except SystemExit as exit_:
            if exit_.code:
                refused.append(where)
    assert not refused, "\n".join(refused)
