"""The ``memstrata`` command: the public API from a shell.

Human-readable output by default, one JSON document with ``--json``; an error is one line on
stderr and a non-zero exit code (2 bad input, 3 not found, 4 conflict, 1 anything else).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib
import json
import re
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from memstrata.api import VERBS, Verb
from memstrata.errors import ConflictError, InvalidInputError, MemstrataError, NotFoundError
from memstrata.memory import Memory
from memstrata.ports import Entity, EntityView, Link
from memstrata.results import BatchResult
from memstrata.settings import Settings
from memstrata.types import KINDS, STATES, Hit, MemoryRecord, Message

Handler = Callable[[argparse.Namespace], int]

DESCRIPTION = "memstrata: long-term memory for LLM agents."
EPILOG = """examples:
  memstrata demo
  memstrata add --user ada "I moved to Lisbon in May"
  memstrata search --user ada "where does Ada live"
  memstrata list --user ada --json

The store is the file named by --db, else $MEMSTRATA_DB, else memstrata.db in your user data
directory; a file elsewhere must be in a directory that exists. A file you cannot write, or
sqlite:///PATH?mode=ro, is opened read-only. See the README for every environment variable."""


# -- output ---------------------------------------------------------------------------------------
def _emit(args: argparse.Namespace, data: Any, human: Callable[[], None]) -> None:
    if args.json:
        json.dump(data, sys.stdout, ensure_ascii=False, indent=None, default=str)
        sys.stdout.write("\n")
    else:
        human()


def _when(record: MemoryRecord) -> str:
    moment = record.valid_from or record.recorded_at
    return moment.strftime("%Y-%m-%d %H:%M")


def _line(record: MemoryRecord) -> str:
    who = f"{record.actor}: " if record.actor else ""
    state = "" if record.state == "active" else f" ({record.state})"
    return (
        f"{record.id}  {_when(record)}  [{record.kind} v{record.version}{state}]  {who}"
        f"{record.text}\n    sources: {', '.join(record.sources) or '-'}"
    )


def _hit_line(rank: int, hit: Hit) -> str:
    signals = ", ".join(f"{k}#{v.rank}" for k, v in hit.signals.items())
    record = hit.record
    who = f"{record.actor}: " if record.actor else ""
    return (
        f"{rank:>2}. {who}{record.text if hit.excerpt is None else hit.excerpt}\n"
        f"    {_when(record)}  sources: {', '.join(record.sources) or '-'}  "
        f"score {hit.score:.4f} ({signals})  id {record.id}"
    )


# -- commands -------------------------------------------------------------------------------------
def _scope(args: argparse.Namespace) -> dict[str, Any]:
    return {"user_id": args.user, "agent_id": args.agent, "run_id": args.run}


def _open(args: argparse.Namespace) -> Memory:
    settings = Settings.from_env().with_overrides(
        db=args.db, embedder=getattr(args, "embedder", None), tenant=args.tenant
    )
    return Memory.from_settings(settings)


def _messages_file(name: str) -> list[Any]:
    """The messages of a JSON file (``-``: stdin): an array of messages, one message, or
    JSON Lines; a message is a string or an object as ``Memory.add`` takes it."""
    try:
        raw = sys.stdin.read() if name == "-" else Path(name).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read the messages file {name}: {exc}") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        try:
            data = [json.loads(line) for line in raw.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise InvalidInputError(
                f"{name} is neither JSON nor JSON Lines (line {exc.lineno}: {exc.msg})"
            ) from None
    return data if isinstance(data, list) else [data]


def cmd_add(args: argparse.Namespace) -> int:
    if args.file is not None:
        if args.text or args.id:
            raise InvalidInputError("--file gives the messages: give no text or --id with it")
        messages: list[Any] = _messages_file(args.file)
    else:
        texts = args.text or [line.rstrip("\n") for line in sys.stdin if line.strip()]
        messages = [
            {"text": t, "role": args.role, "speaker": args.speaker,
             "id": args.id if i == 0 else None}
            for i, t in enumerate(texts)
        ]  # fmt: skip
    if args.id and len(messages) > 1:
        raise InvalidInputError("--id names one message; give one text with it")
    with _open(args) as mem:
        result = mem.add(
            messages, timestamp=args.timestamp, expires_at=args.expires_at, **_scope(args)
        )

    def human() -> None:
        for record in result.added:
            print(f"added {record.id} (message {', '.join(record.sources)})")
        for message_id in result.duplicates:
            print(f"skipped message {message_id}: already stored")

    _emit(
        args,
        {"added": [r.to_dict() for r in result.added], "duplicates": list(result.duplicates)},
        human,
    )
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    with _open(args) as mem:
        result = mem.search(
            args.query,
            limit=args.limit,
            kinds=args.kind or None,
            since=args.since,
            until=args.until,
            budget=args.budget,
            where=args.where,
            history=args.history,
            **_scope(args),
        )

    def human() -> None:
        if not result.hits:
            print("no memories found")
        for rank, hit in enumerate(result.hits, start=1):
            print(_hit_line(rank, hit))

    _emit(
        args,
        {
            "search_id": result.search_id,
            "query": result.query,
            "hits": [h.to_dict() for h in result.hits],
        },
        human,
    )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with _open(args) as mem:
        page = mem.list(
            limit=args.limit,
            cursor=args.cursor,
            kinds=args.kind or None,
            states=args.state or None,
            where=args.where,
            history=args.history,
            **_scope(args),
        )

    def human() -> None:
        for record in page.records:
            print(_line(record))
        if page.next_cursor:
            print(f"-- more: --cursor {page.next_cursor}")

    _emit(
        args,
        {"memories": [r.to_dict() for r in page.records], "next_cursor": page.next_cursor},
        human,
    )
    return 0


def cmd_get(args: argparse.Namespace) -> int:
    with _open(args) as mem:
        record = mem.get(args.id, **_scope(args))
        versions = mem.versions(args.id, **_scope(args))
        sources = mem.sources(args.id, **_scope(args))

    def human() -> None:
        print(_line(record))
        for message in sources:
            stamp = message.timestamp.strftime("%Y-%m-%d %H:%M") if message.timestamp else "-"
            print(f"    [{message.id}] {stamp} {message.speaker}: {message.text}")
        if len(versions) > 1:
            print(f"    {len(versions)} versions; see `memstrata history {record.id}`")

    _emit(
        args,
        {
            **record.to_dict(),
            "versions": [v.to_dict() for v in versions],
            "source_messages": [
                {
                    "id": m.id,
                    "speaker": m.speaker,
                    "role": m.role,
                    "text": m.text,
                    "timestamp": m.timestamp.isoformat() if m.timestamp else None,
                }
                for m in sources
            ],
        },
        human,
    )
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    with _open(args) as mem:
        events = mem.history(args.id, **_scope(args))

    def human() -> None:
        for e in events:
            detail = f" {e.previous_text!r} -> {e.text!r}" if e.previous_text else ""
            why = f" ({e.reason})" if e.reason else ""
            print(f"{e.at:%Y-%m-%d %H:%M:%S}  v{e.version}  {e.op}{why}{detail}")

    _emit(args, [e.to_dict() for e in events], human)
    return 0


def _state_change(verb: str) -> Handler:
    def run(args: argparse.Namespace) -> int:
        with _open(args) as mem:
            record = getattr(mem, verb)(args.id, reason=args.reason, **_scope(args))
        _emit(args, record.to_dict(), lambda: print(f"{record.id} is now {record.state}"))
        return 0

    return run


def cmd_feedback(args: argparse.Namespace) -> int:
    with _open(args) as mem:
        result = mem.feedback(args.search_id, args.used, args.unused, **_scope(args))
    _emit(
        args,
        {"used": result.used, "unused": result.unused, "pairs": result.pairs},
        lambda: print(f"learned from {result.used} used and {result.unused} unused memories"),
    )
    return 0


def cmd_maintain(args: argparse.Namespace) -> int:
    with _open(args) as mem:
        archived = mem.maintain(dry_run=args.dry_run, **_scope(args))
    verb = "would archive" if args.dry_run else "archived"
    _emit(args, {"archived": archived, "dry_run": args.dry_run},
          lambda: print(f"{verb} {len(archived)} faded memories"))  # fmt: skip
    return 0


def cmd_reflect(args: argparse.Namespace) -> int:
    from memstrata.write.reflect import reflect

    with _open(args) as mem:
        stored = reflect(mem, message_ids=args.message_id or None, llm=mem.llm, **_scope(args))
    lines = "\n".join(_line(r) for r in stored) or "no messages to reflect on"
    _emit(args, [r.to_dict() for r in stored], lambda: print(lines))
    return 0


def cmd_reprocess(args: argparse.Namespace) -> int:
    settings = Settings.from_env().with_overrides(
        db=args.db, embedder=args.embedder, tenant=args.tenant, llm_base_url=args.llm_url,
        llm_model=args.llm_model,
    )  # fmt: skip
    options: dict[str, Any] = {}
    if args.batch_size is not None:
        from memstrata.write.pipeline import PipelineConfig

        options["pipeline"] = PipelineConfig(batch_size=args.batch_size)
    with Memory.from_settings(settings, **options) as mem:
        report = mem.reprocess(dry_run=args.dry_run, **_scope(args))

    def human() -> None:
        if args.dry_run:
            print(f"{report.pending} messages to process ({report.failed} failed before)")
            return
        print(
            f"processed {report.messages} messages in {report.batches} batches "
            f"({report.extraction_calls} extraction and {report.consolidation_calls} "
            f"consolidation calls): {report.added} facts added, {report.updated} updated, "
            f"{report.invalidated} invalidated, {report.unchanged} unchanged, "
            f"{report.dropped} dropped ({report.unsourced} citing no message of their batch)"
        )
        if report.pending:
            print(f"{report.pending} messages still to do ({report.failed} failed); run it again")
        for error in report.errors[:5]:
            print(f"  {error}")

    _emit(args, report.to_dict(), human)
    return 1 if report.failed_batches and not report.messages else 0


def cmd_export(args: argparse.Namespace) -> int:
    with _open(args) as mem:
        count = mem.export(args.file if args.file != "-" else sys.stdout, **_scope(args))
    if args.file != "-":
        _emit(args, {"memories": count}, lambda: print(f"exported {count} memories"))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    with _open(args) as mem:
        count = mem.import_(args.file if args.file != "-" else sys.stdin)
    _emit(args, {"memories": count}, lambda: print(f"imported {count} memories"))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    sample = json.loads(
        resources.files("memstrata").joinpath("data/sample_conversation.json").read_text("utf-8")
    )
    scope = sample["scope"]
    with _open(args) as mem:
        messages = [
            {**m, "timestamp": session["date"]}
            for session in sample["sessions"]
            for m in session["messages"]
        ]
        added = mem.add(messages, **scope)
        out: dict[str, Any] = {
            "store": str(getattr(mem.store, "path", mem.store)),
            "added": len(added.added),
            "already_stored": len(added.duplicates),
            "answers": [],
        }
        for question in sample["questions"]:
            result = mem.search(question, limit=args.limit, **scope)
            out["answers"].append(
                {"question": question, "hits": [h.to_dict() for h in result.hits]}
            )

    def human() -> None:
        print(f"store: {out['store']}")
        print(
            f"ingested the sample conversation as {scope}: {out['added']} new messages, "
            f"{out['already_stored']} already stored\n"
        )
        for answer in out["answers"]:
            print(f"Q: {answer['question']}")
            for rank, hit in enumerate(answer["hits"], start=1):
                when = (hit["valid_from"] or hit["recorded_at"])[:16].replace("T", " ")
                print(
                    f"  {rank}. {hit['actor']}: {hit['text']}\n"
                    f"     {when}  sources: {', '.join(hit['sources'])}"
                )
            print()

    _emit(args, out, human)
    return 0


# -- commands derived from the declaration --------------------------------------------------------
#: Verbs whose command is derived from their declaration (``api.VERBS``): a parameter without a
#: default is an argument, the others options (``--dry-run`` for ``dry_run``); the help is the
#: first line of the verb's documentation, the output the result in the usual two formats.
DERIVED = ("update", "remember", "versions", "sources", "scopes", "links", "entities", "about",
           "purge", "reset", "people", "profile", "changes", "set_extraction",
           "extraction", "delete_many", "restore_many", "update_many")  # fmt: skip


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object")
    return value


def _json_rules(text: str) -> dict[str, Any] | None:
    """Extraction rules as a JSON object, or ``null`` for none."""
    return None if text.strip() == "null" else _json_object(text)


#: How a shell gives a value of each declared type (the annotations as written).
_OPTION_KINDS: dict[str, dict[str, Any]] = {
    "str": {},
    "str | None": {},
    "TimeInput": {"metavar": "TIME"},
    "int": {"type": int},
    "int | None": {"type": int},
    "float": {"type": float},
    "bool": {"action": "store_true"},
    "Sequence[str]": {"action": "append"},
    "Sequence[str] | None": {"action": "append", "metavar": "ID"},
    "Sequence[MemoryState] | None": {"action": "append", "choices": STATES},
    "MemoryKind": {"choices": KINDS},
    "WhereInput": {"type": _json_object, "metavar": "JSON"},
    "Mapping[str, Any] | None": {"type": _json_object, "metavar": "JSON"},
    "Extraction | Mapping[str, Any] | None": {"type": _json_rules, "metavar": "JSON"},
}


def verb_parser(sub: Any, verb: Verb, parents: list[argparse.ArgumentParser]) -> None:
    """The command of ``verb``, its arguments derived from the declaration."""
    first = verb.doc.split("\n\n")[0].replace("\n", " ").split(". ")[0]
    summary = re.split(r"[;:]| \(", first)[0].rstrip(".").replace("``", "")
    command = verb.name.replace("_", "-")
    p = sub.add_parser(command, parents=parents, help=summary[0].lower() + summary[1:])
    for param in verb.parameters:
        options = dict(_OPTION_KINDS[str(param.annotation)])
        if param.default is param.empty:
            options.setdefault("metavar", param.name.upper())
            p.add_argument(param.name, **options)
        else:
            flag = "--" + param.name.replace("_", "-")
            action = options.get("action")
            if action == "append":  # each value once, the option repeated
                default = None if param.default is None else list(param.default)
                options.update(default=default, help="repeat for more")
            elif action != "store_true":
                options.setdefault("metavar", param.name.upper())
                options["default"] = param.default
            p.add_argument(flag, dest=param.name, **options)
    p.set_defaults(handler=functools.partial(cmd_verb, verb))


def cmd_verb(verb: Verb, args: argparse.Namespace) -> int:
    arguments = {p.name: getattr(args, p.name) for p in verb.parameters}
    scope = _scope(args) if verb.scoped else {}
    with _open(args) as mem:
        result = getattr(mem, verb.name)(**arguments, **scope)
    _emit(args, _jsonable(result), lambda: _show(result))
    return 0


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if hasattr(value, "model_dump"):  # a pydantic model (extraction rules)
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _show(value: Any) -> None:
    """A verb's result for a person: one line per memory, message, link or entity."""
    if value is None:
        print("nothing")
    elif isinstance(value, MemoryRecord):
        print(_line(value))
    elif isinstance(value, Message):
        stamp = value.timestamp.strftime("%Y-%m-%d %H:%M") if value.timestamp else "-"
        print(f"[{value.id}] {stamp} {value.speaker}: {value.text}")
    elif isinstance(value, Entity):
        print(f"{value.name} ({value.mentions} memories)")
    elif isinstance(value, EntityView):
        _show(value.entity)
        for t in value.relations:
            print(f"  {t.subject} -{t.predicate}-> {t.object}")
        for record in value.memories:
            _show(record)
    elif isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], Link):
        print(f"{value[0].kind} (score {value[0].score:.2f}): {_line(value[1])}")
    elif isinstance(value, list):
        for item in value:
            _show(item)
        if not value:
            print("none")
    elif isinstance(value, BatchResult):
        verb = "would change" if value.dry_run else "changed"
        print(f"{verb} {value.count} memories" + (" (nothing changed)" if value.dry_run else ""))
        for memory_id in value.ids:
            print(f"  {memory_id}")
    elif isinstance(value, dict):
        print("  ".join(f"{k}={v}" for k, v in value.items()))
    else:
        print(value)


# -- parser ---------------------------------------------------------------------------------------
def where_flags(parser: argparse.ArgumentParser) -> None:
    """``--where`` and ``--history`` of a command that reads memories."""
    parser.add_argument(
        "--where",
        type=_json_object,
        metavar="JSON",
        help='a filter expression, e.g. \'{"metadata.topic": {"in": ["work"]}}\' (docs/filters.md)',
    )
    parser.add_argument(
        "--history",
        action="store_true",
        help="also memories that have expired and facts whose valid_to has passed",
    )


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="store path or URL (default: $MEMSTRATA_DB or user data dir)")
    common.add_argument("--tenant", help="tenant (default: $MEMSTRATA_TENANT or 'default')")
    common.add_argument("--embedder", help="embedder spec: minilm, hashing, none, openai:MODEL@URL")
    common.add_argument("--json", action="store_true", help="print JSON for scripts")
    return common


def scope_flags(parser: argparse.ArgumentParser, title: str) -> None:
    """Add ``--user``, ``--agent`` and ``--run`` to ``parser``, in a group whose title says
    whether the command needs them."""
    group = parser.add_argument_group(title)
    group.add_argument("--user", help="user id")
    group.add_argument("--agent", help="agent id")
    group.add_argument("--run", help="run id")


def _scoped() -> argparse.ArgumentParser:
    scoped = argparse.ArgumentParser(add_help=False)
    scope_flags(scoped, "scope (at least one)")
    return scoped


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="memstrata",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from memstrata.version import __version__

    parser.add_argument("--version", action="version", version=f"memstrata {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common, scoped = _common(), _scoped()
    both = [common, scoped]

    p = sub.add_parser("add", parents=both, help="remember messages (text arguments or stdin)")
    p.add_argument("text", nargs="*", help="message text; one line per message from stdin if none")
    p.add_argument("--role", default="user", help="message role (default: user)")
    p.add_argument("--speaker", help="who said it (default: the role)")
    p.add_argument("--id", help="message id (default: generated)")
    p.add_argument("--timestamp", help="when it was said, ISO 8601 (default: now)")
    p.add_argument(
        "--expires-at",
        metavar="TIME",
        help="when to stop recalling it, ISO 8601: it then reads as archived, never deleted",
    )
    p.add_argument(
        "--file",
        metavar="PATH",
        help="read messages from a JSON file ('-': stdin): an array of OpenAI-style messages "
        "(content a string or a list of text, image_url and input_audio parts) or JSON Lines",
    )
    p.set_defaults(handler=cmd_add)

    p = sub.add_parser("search", parents=both, help="find the memories that answer a query")
    p.add_argument("query")
    p.add_argument(
        "--limit",
        type=int,
        help="how many hits at most (default: 10; with --budget, as many as fit)",
    )
    p.add_argument("--kind", action="append", choices=KINDS, help="only these kinds")
    p.add_argument("--since", help="event time from (ISO 8601)")
    p.add_argument("--until", help="event time until (ISO 8601)")
    p.add_argument(
        "--budget",
        type=int,
        metavar="CHARS",
        help="pack the hits into this many characters of context (sentences that answer)",
    )
    where_flags(p)
    p.set_defaults(handler=cmd_search)

    p = sub.add_parser("list", parents=both, help="list memories, newest first")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--cursor", help="the next_cursor of the previous page")
    p.add_argument("--kind", action="append", choices=KINDS)
    p.add_argument("--state", action="append", choices=STATES, help="default: active")
    where_flags(p)
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser("get", parents=both, help="show one memory with its source messages")
    p.add_argument("id")
    p.set_defaults(handler=cmd_get)

    p = sub.add_parser("history", parents=both, help="show every change to a memory")
    p.add_argument("id")
    p.set_defaults(handler=cmd_history)

    for verb, text in (
        ("delete", "soft-delete a memory (restorable)"),
        ("restore", "restore a deleted or archived memory"),
        ("archive", "archive a memory (out of default search, restorable)"),
    ):
        p = sub.add_parser(verb, parents=both, help=text)
        p.add_argument("id")
        p.add_argument("--reason", help="why (kept in history)")
        p.set_defaults(handler=_state_change(verb))

    p = sub.add_parser("feedback", parents=both, help="say which hits of a search were used")
    p.add_argument("search_id", help="the search_id printed by `search --json`")
    p.add_argument("--used", action="append", default=[], metavar="ID", help="a used memory id")
    p.add_argument("--unused", action="append", metavar="ID", help="default: the other hits")
    p.set_defaults(handler=cmd_feedback)

    p = sub.add_parser(
        "maintain",
        parents=both,
        help="archive memories that have expired or faded; prune old searches, tidy the store",
    )
    p.add_argument("--dry-run", action="store_true", help="only list what would be archived")
    p.set_defaults(handler=cmd_maintain)

    p = sub.add_parser(
        "reflect",
        parents=both,
        help="keep a session's summary and thoughts, and the procedures told more than once",
    )
    p.add_argument(
        "--message-id",
        action="append",
        metavar="ID",
        help="a message of the session (default: every episode of the scope)",
    )
    p.set_defaults(handler=cmd_reflect)

    p = sub.add_parser(
        "reprocess", parents=both, help="run the LLM write path over messages it has not done"
    )
    p.add_argument("--dry-run", action="store_true", help="only count the messages to process")
    p.add_argument(
        "--llm-url", help="OpenAI-compatible base URL (default: $MEMSTRATA_LLM_BASE_URL)"
    )
    p.add_argument("--llm-model", help="model name (default: $MEMSTRATA_LLM_MODEL)")
    p.add_argument("--batch-size", type=int, help="messages per extraction call (default: 10)")
    p.set_defaults(handler=cmd_reprocess)

    p = sub.add_parser("export", parents=both, help="write a scope as JSON Lines")
    p.add_argument("file", help="output file, or - for stdout")
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("import", parents=[common], help="read a JSON Lines export")
    p.add_argument("file", help="input file, or - for stdin")
    p.set_defaults(handler=cmd_import)

    for name in DERIVED:
        declared = VERBS[name]
        verb_parser(sub, declared, both if declared.scoped else [common])

    p = sub.add_parser(
        "demo", parents=[common], help="ingest the bundled sample conversation and answer questions"
    )
    p.add_argument("--limit", type=int, default=3, help="hits per question (default: 3)")
    p.set_defaults(handler=cmd_demo)

    for register in _extensions():
        register(sub, common, scoped)
    return parser


#: Modules that define commands of their own feature: each has
#: ``register(subparsers, common, scoped)`` and imports heavy dependencies only when run.
EXTENSIONS: tuple[str, ...] = (
    "memstrata.bench",
    "memstrata.evals.cli",
    "memstrata.reembed",
    "memstrata.relearn",
    "memstrata.server.cli",
    "memstrata.stores.cli",
)


def _extensions() -> list[Callable[..., None]]:
    return [importlib.import_module(name).register for name in EXTENSIONS]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except InvalidInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except NotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except ConflictError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 4
    except MemstrataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    except OSError as exc:  # a folder that is a file, a disk that is full: said, not traced
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
