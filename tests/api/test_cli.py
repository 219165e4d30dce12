"""The CLI as a user runs it: real processes, a real store file."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from memstrata.cli import build_parser, main


def run(*args: str, db: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MEMSTRATA_DB": str(db), "MEMSTRATA_EMBEDDER": "hashing"}
    return subprocess.run(
        [sys.executable, "-m", "memstrata.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=120,
    )


def test_add_then_search_then_get_and_history(db_path: Path) -> None:
    added = run("add", "--user", "ada", "I moved to Lisbon in May", "--json", db=db_path)
    assert added.returncode == 0, added.stderr
    memory_id = json.loads(added.stdout)["added"][0]["id"]
    found = run("search", "--user", "ada", "where does Ada live", db=db_path)
    assert found.returncode == 0 and "I moved to Lisbon in May" in found.stdout
    hits = json.loads(run("search", "--user", "ada", "Lisbon", "--json", db=db_path).stdout)
    assert hits["hits"][0]["id"] == memory_id
    assert run("delete", "--user", "ada", memory_id, db=db_path).returncode == 0
    assert "Lisbon" not in run("search", "--user", "ada", "Lisbon", db=db_path).stdout
    assert run("restore", "--user", "ada", memory_id, db=db_path).returncode == 0
    got = json.loads(run("get", "--user", "ada", memory_id, "--json", db=db_path).stdout)
    assert got["text"] == "I moved to Lisbon in May" and got["state"] == "active"
    history = json.loads(run("history", "--user", "ada", memory_id, "--json", db=db_path).stdout)
    assert [e["op"] for e in history] == ["ADD", "DELETE", "RESTORE"]


def test_search_with_a_budget_shows_the_sentences_that_answer(db_path: Path) -> None:
    text = "We went hiking all day. The weather was grey. My sister is called Mara."
    assert run("add", "--user", "ada", text, db=db_path).returncode == 0
    found = run("search", "--user", "ada", "sister called", "--budget", "60", "--json",
                db=db_path)  # fmt: skip
    assert found.returncode == 0, found.stderr
    [hit] = json.loads(found.stdout)["hits"]
    assert "My sister is called Mara." in hit["excerpt"] and len(hit["context"]) <= 60
    shown = run("search", "--user", "ada", "sister called", "--budget", "60", db=db_path).stdout
    assert "Mara" in shown and "hiking" not in shown


def test_a_budgeted_search_is_not_cut_to_the_default_limit(db_path: Path) -> None:
    texts = "".join(f"Ada's cat number {i} is called Pixel {i}.\n" for i in range(15))
    assert run("add", "--user", "ada", db=db_path, stdin=texts).returncode == 0

    def count(*extra: str) -> int:
        found = run("search", "--user", "ada", "cat called", "--json", *extra, db=db_path)
        assert found.returncode == 0, found.stderr
        return len(json.loads(found.stdout)["hits"])

    assert count() == 10
    assert count("--budget", "4000") == 15
    assert count("--budget", "4000", "--limit", "3") == 3


def test_add_reads_lines_from_stdin_and_list_shows_them(db_path: Path) -> None:
    assert run("add", "--user", "ada", db=db_path, stdin="one\ntwo\n\nthree\n").returncode == 0
    listed = json.loads(run("list", "--user", "ada", "--json", db=db_path).stdout)
    assert sorted(m["text"] for m in listed["memories"]) == ["one", "three", "two"]


def test_export_and_import_between_files(tmp_path: Path) -> None:
    a, b, out = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "x.jsonl"
    run("add", "--user", "ada", "a fact worth keeping", db=a)
    assert run("export", "--user", "ada", str(out), db=a).returncode == 0
    imported = run("import", str(out), "--json", db=b)
    assert json.loads(imported.stdout) == {"memories": 1}
    assert "worth keeping" in run("list", "--user", "ada", db=b).stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("add", "hello"), 2, "scope is required"),
        (("add", "--user", "ada", ""), 2, "empty"),
        (("get", "--user", "ada", "nope"), 3, "no memory"),
        (("search", "--user", "ada", "   "), 2, "query is empty"),
    ],
)
def test_errors_are_one_line_and_a_nonzero_exit(
    db_path: Path, args: tuple[str, ...], code: int, message: str
) -> None:
    result = run(*args, db=db_path)
    assert result.returncode == code
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1


def test_demo_ingests_the_sample_and_answers(db_path: Path) -> None:
    first = run("demo", "--json", db=db_path)
    assert first.returncode == 0, first.stderr
    out = json.loads(first.stdout)
    assert out["added"] > 10 and out["already_stored"] == 0
    cat = next(a for a in out["answers"] if "cat" in a["question"])
    assert any("Pixel" in h["text"] for h in cat["hits"])
    assert all(h["sources"] and h["valid_from"] for a in out["answers"] for h in a["hits"])
    again = json.loads(run("demo", "--json", db=db_path).stdout)
    assert again["added"] == 0 and again["already_stored"] == out["added"]


# -- help -----------------------------------------------------------------------------------------
def test_the_help_says_whether_a_command_needs_a_scope(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    helps = {" ".join(words): sub.format_help() for words, sub in leaf_commands(build_parser())}
    scoped = {name: text for name, text in helps.items() if "\nscope (" in text}
    mcp = " ".join(scoped.pop("mcp").split())
    assert "at least one" not in mcp
    assert "scope (optional):" in mcp
    assert "Without them, each tool call names its own scope" in mcp
    relearn = " ".join(scoped.pop("relearn").split())
    assert "scope (optional):" in relearn and "Without a scope, every scope" in relearn
    assert len(scoped) > 10
    assert all("scope (at least one):" in text for text in scoped.values())
    assert main(["list", "--db", str(db_path), "--embedder", "hashing"]) == 2
    assert "a scope is required" in capsys.readouterr().err


# -- bad paths and files: a one-line error, never a traceback -------------------------------------
def test_reflect_keeps_a_summary_and_a_procedure_told_in_two_sessions(db_path: Path) -> None:
    told = "To deploy the app, first run the tests, then build the image, and finally restart it."
    assert run("add", "--user", "ada", "--run", "r1", told, db=db_path).returncode == 0
    first = run("reflect", "--user", "ada", "--run", "r1", "--json", db=db_path)
    assert first.returncode == 0, first.stderr
    assert [r["kind"] for r in json.loads(first.stdout)] == ["summary"]  # told once: no way yet
    assert run("add", "--user", "ada", "--run", "r2", told, db=db_path).returncode == 0
    second = json.loads(run("reflect", "--user", "ada", "--run", "r2", "--json", db=db_path).stdout)
    (procedure,) = [r for r in second if r["kind"] == "procedure"]
    assert procedure["text"].startswith("How to deploy the app: 1. run the tests;")
    shown = run("reflect", "--user", "ada", "--run", "r2", db=db_path).stdout
    assert "[procedure v1]" in shown  # the same reflection, nothing written again


def leaf_commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[Any]:
    """Every command the parser runs, as (words, its parser), nested commands included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            nested = [leaf for name, sub in action.choices.items()
                      for leaf in leaf_commands(sub, (*prefix, name))]  # fmt: skip
            return nested if action.required else [(prefix, parser), *nested]
    return [(prefix, parser)]


#: What each command needs besides a store; IN stands for a file it reads, OUT for one it writes.
COMMANDS: dict[str, list[str]] = {
    "add": ["--user", "ada", "hello"],
    "search": ["--user", "ada", "hello"],
    "list": ["--user", "ada"],
    **{verb: ["--user", "ada", "x"] for verb in ("get", "history", "delete", "restore", "archive")},
    "delete-many": ["--user", "ada", "--ids", "x"],
    "restore-many": ["--user", "ada", "--ids", "x"],
    "update-many": ["--user", "ada", "--ids", "x", "--metadata", "{}"],
    "feedback": ["--user", "ada", "some-search", "--used", "x"],
    "maintain": ["--user", "ada"],
    "reprocess": ["--user", "ada", "--dry-run"],
    "reflect": ["--user", "ada"],
    "export": ["--user", "ada", "OUT"],
    "import": ["IN"],
    "update": ["--user", "ada", "x", "--text", "new"],
    "remember": ["--user", "ada", "a note", "--kind", "procedure"],
    **{verb: ["--user", "ada", "x"] for verb in ("versions", "sources", "links", "purge")},
    "scopes": [],
    "entities": ["--user", "ada"],
    "about": ["--user", "ada", "Ada"],
    "reset": ["--user", "ada"],
    "people": ["--user", "ada"],
    "profile": ["--user", "ada"],
    "changes": ["--user", "ada"],
    "extraction": ["--user", "ada"],
    "set-extraction": ["--user", "ada", "null"],
    "demo": [],
    "bench": ["--n", "10", "--queries", "1", "--embedder", "hashing"],
    "bench cold": ["--n", "10", "--repeat", "1", "--embedder", "hashing", "--quiet"],
    "bench serve": ["--scopes", "1", "--memories", "1", "--duration", "1", "--quiet"],
    "eval locomo": ["IN", "--retriever", "bm25"],
    "eval longmemeval": ["IN", "--retriever", "bm25"],
    "eval scale": ["IN", "--distractors", "0", "--embedder", "hashing", "--quiet"],
    "eval multilingual": ["IN", "--embedder", "none"],
    "reembed": [],
    "relearn": [],
    "serve": ["--port", "0"],
    "mcp": ["--user", "ada"],
    "keys create": [],
    "keys list": [],
    "keys revoke": ["key_x"],
    "migrate": ["--from", "SOURCE", "--to", "DB"],
}


def one_line_error(
    argv: list[str], capsys: pytest.CaptureFixture[str], db_dir: Path | None = None
) -> None:
    """``argv`` fails with exit code 1 or 2 and one line on stderr (an exception escaping
    ``main`` would be a traceback)."""
    if argv[0] in ("serve", "mcp"):  # these would run for good if opening did not fail
        result = subprocess.run([sys.executable, "-m", "memstrata.cli", *argv], input="",
                                capture_output=True, text=True, timeout=120)  # fmt: skip
        code, err = result.returncode, result.stderr
    else:
        code = main(argv)
        err = capsys.readouterr().err
    assert code in (1, 2), (argv, code, err)
    assert err.startswith("error: ") and err.count("\n") == 1, (argv, err)
    assert db_dir is None or not db_dir.exists(), argv


def test_every_command_gives_a_one_line_error_for_bad_paths_and_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MEMSTRATA_DB", "MEMSTRATA_LLM_BASE_URL", "MEMSTRATA_LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MEMSTRATA_EMBEDDER", "hashing")
    store = tmp_path / "store.db"
    assert main(["add", "--db", str(store), "--user", "ada", "a fact"]) == 0
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes('{"type": "header", "note": "café"}\n'.encode("latin-1"))
    missing_dir = tmp_path / "missing"
    bad_reads = [str(tmp_path / "missing.jsonl"), str(tmp_path), str(latin)]
    bad_writes = [str(missing_dir / "out.jsonl"), str(tmp_path)]
    commands = {" ".join(words): parser for words, parser in leaf_commands(build_parser())}
    assert set(commands) == set(COMMANDS), "a new command needs its arguments in COMMANDS"
    capsys.readouterr()
    for command, needs in COMMANDS.items():
        words = command.split()
        fill = {"IN": str(latin), "OUT": str(tmp_path / "out.jsonl"), "SOURCE": str(store),
                "DB": str(tmp_path / "copy.db")}  # fmt: skip
        args = [fill.get(a, a) for a in needs]
        options = {o for action in commands[command]._actions for o in action.option_strings}
        for flag in ("--db", "--store", "--to", "--from"):  # a store in a missing directory
            if flag in options:
                bad = [*args]
                if flag in bad:
                    bad[bad.index(flag) + 1] = str(missing_dir / "x.db")
                else:
                    bad += [flag, str(missing_dir / "x.db")]
                one_line_error([*words, *bad], capsys, missing_dir)
        for marker, values in (("IN", bad_reads), ("OUT", bad_writes)):
            for value in values if marker in needs else ():
                bad = [*words, *(value if a == marker else fill.get(a, a) for a in needs)]
                one_line_error([*bad, *(["--db", str(store)] if "--db" in options else [])],
                               capsys, missing_dir)  # fmt: skip
    # a store that is not there is not made by reading it
    one_line_error(["migrate", "--from", str(tmp_path / "none.db"), "--to", fill["DB"]], capsys)
    assert not (tmp_path / "none.db").exists()


def test_the_default_store_directory_is_made_when_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MEMSTRATA_DB", raising=False)
    monkeypatch.setenv("MEMSTRATA_EMBEDDER", "hashing")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert main(["add", "--user", "ada", "a fact"]) == 0
    assert (tmp_path / "data" / "memstrata" / "memstrata.db").is_file()


def test_the_commands_derived_from_the_verbs(db_path: Path) -> None:
    def ok(*args: str) -> Any:
        done = run(*args, "--json", db=db_path)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    [episode] = ok("add", "--user", "ada", "--id", "m1", "I moved to Lisbon in May")["added"]
    fact = ok("remember", "--user", "ada", "Ada lives in Lisbon", "--sources", "m1",
              "--entities", "Ada", "--entities", "Lisbon", "--importance", "0.9")  # fmt: skip
    assert (fact["kind"], fact["sources"], fact["importance"]) == ("fact", ["m1"], 0.9)
    new = ok("update", "--user", "ada", episode["id"], "--text", "I moved to Lisbon in June",
             "--metadata", '{"checked": true}', "--expected-version", "1")  # fmt: skip
    assert (new["version"], new["metadata"]) == (2, {"checked": True})
    versions = ok("versions", "--user", "ada", episode["id"])
    assert [v["text"] for v in versions] == [
        "I moved to Lisbon in May",
        "I moved to Lisbon in June",
    ]
    [message] = ok("sources", "--user", "ada", fact["id"])
    assert (message["id"], message["timestamp"][10]) == ("m1", "T")
    assert [(s["user_id"], s["memories"]) for s in ok("scopes")] == [("ada", 2)]
    assert ok("links", "--user", "ada", fact["id"]) == []
    assert ok("entities", "--user", "ada") == [] and ok("about", "--user", "ada", "Ada") is None
    shown = run("versions", "--user", "ada", episode["id"], db=db_path).stdout
    assert "[episode v1]" in shown and "[episode v2]" in shown
    refused = run("purge", "--user", "ada", fact["id"], db=db_path)
    assert refused.returncode == 2 and "confirm" in refused.stderr
    assert ok("purge", "--user", "ada", fact["id"], "--confirm") is None
    assert ok("reset", "--user", "ada", "--confirm") == 1
    bad = run("update", "--user", "ada", episode["id"], "--metadata", "[1]", db=db_path)
    assert bad.returncode == 2 and "expected a JSON object" in bad.stderr
