"""docs/architecture.md shows the tree as it is: every module and package of ``src/memstrata``
and nothing else, and for each package every module in it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "memstrata"
NAME = re.compile(r"^[\w]+(\.py|/)$")


def documented_tree() -> dict[str, str]:
    """Each name the tree block shows (``memory.py``, ``read/``) with the text beside it."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = text.split("```\nsrc/memstrata/\n", 1)[1].split("```", 1)[0]
    entries: dict[str, str] = {}
    current: list[str] = []
    for line in block.splitlines():
        if line.startswith("   "):  # the text of the entry above, continued
            for name in current:
                entries[name] += " " + line.strip()
            continue
        head, _, rest = line.strip().partition("  ")  # names, then two spaces, then text
        names = head.split(" ")
        if not all(NAME.match(name) for name in names):
            names = []  # a heading names nothing
        current = names
        for name in names:
            entries[name] = rest.strip()
    return entries


def tree() -> set[str]:
    return {
        p.name + ("/" if p.is_dir() else "")
        for p in PACKAGE.iterdir()
        if p.name != "__pycache__" and (p.is_dir() or p.suffix == ".py")
    }


def test_the_documented_tree_is_the_tree() -> None:
    documented = set(documented_tree())
    assert sorted(tree() - documented) == [], "in the tree but not in docs/architecture.md"
    assert sorted(documented - tree()) == [], "in docs/architecture.md but not in the tree"


def test_each_package_entry_names_every_module_of_the_package() -> None:
    entries = documented_tree()
    missing = []
    for name, text in entries.items():
        folder = PACKAGE / name.rstrip("/")
        if not name.endswith("/") or not (folder / "__init__.py").exists():
            continue
        words = set(re.findall(r"[\w]+", text))
        for module in folder.iterdir():
            stem = module.stem if module.suffix == ".py" else module.name
            if stem in ("__init__", "__pycache__") or not (
                module.suffix == ".py" or (module / "__init__.py").exists()
            ):
                continue
            if stem not in words:
                missing.append(f"{name}{module.name}")
    assert missing == []
