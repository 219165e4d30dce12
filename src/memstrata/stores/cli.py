"""``memstrata migrate``: copy a whole store into another one, verified and resumable."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from memstrata.errors import StoreError


def register(
    subparsers: Any, common: argparse.ArgumentParser, scoped: argparse.ArgumentParser
) -> None:
    p = subparsers.add_parser(
        "migrate",
        help="copy every memory from one store to another (e.g. SQLite to PostgreSQL), verified",
        description=(
            "Copy messages (with their LLM write path status), memories, versions, history, "
            "vectors, links, the entity graph, the embedder, API keys, learned reranker "
            "models and each scope's people table, profiles and extraction rules from one "
            "store to another, tenant by tenant, then compare counts and "
            "checksums of both sides. Run it again after an interruption: what was copied is "
            "skipped."
        ),
    )
    p.add_argument("--from", dest="source", required=True, metavar="URL",
                   help="the store to read (opened read-only): a path, sqlite:///path or "
                        "postgresql://…")  # fmt: skip
    p.add_argument("--to", dest="target", required=True, metavar="URL",
                   help="the store to write (created if missing)")  # fmt: skip
    p.add_argument("--tenant", action="append", dest="tenants", metavar="TENANT",
                   help="only this tenant (repeat for more; default: every tenant)")  # fmt: skip
    p.add_argument("--batch-size", type=int, default=200,
                   help="memories per transaction (default: 200)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    group = p.add_argument_group("only some scopes (default: all)")
    group.add_argument("--user", help="only memories and messages of this user id")
    group.add_argument("--agent", help="only those of this agent id")
    group.add_argument("--run", help="only those of this run id")
    p.set_defaults(handler=cmd_migrate)


def _line(label: str, counts: dict[str, Any]) -> str:
    return (
        f"  {label}: memories {counts['memories']}  versions {counts['versions']}  "
        f"history {counts['history']}  messages {counts['messages']}  "
        f"statuses {counts['statuses']}  vectors {counts['vectors']}  links {counts['links']}  "
        f"entities {counts['entities']}  relations {counts['relations']}  "
        f"checksum {counts['checksum'][:16]}"
    )


def cmd_migrate(args: argparse.Namespace) -> int:
    from memstrata.stores import open_store
    from memstrata.stores.migrate import migrate

    if args.source == args.target:
        raise StoreError("--from and --to name the same store")
    only = {"user_id": args.user, "agent_id": args.agent, "run_id": args.run}
    progress = None if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
    source = open_store(args.source, read_only=True)
    try:
        target = open_store(args.target)
        try:
            report = migrate(source, target, tenants=args.tenants, only=only,
                             batch_size=args.batch_size, progress=progress)  # fmt: skip
        finally:
            target.close()
    finally:
        source.close()
    data = report.to_dict()
    if args.json:
        json.dump(data, sys.stdout)
        sys.stdout.write("\n")
    else:
        if report.embedder:
            print(f"embedder: {report.embedder[0]} ({report.embedder[1]} dimensions)")
        print(f"api keys copied: {report.api_keys_copied}")
        print(f"learned reranker models copied: {report.learned_models_copied}")
        print(f"people tables, profiles and extraction rules: {report.scope_settings_copied} "
              "settings copied")  # fmt: skip
        for tenant in data["tenants"]:
            print(
                f"tenant {tenant['tenant']}: copied {tenant['copied']} memories, skipped "
                f"{tenant['skipped']} already there"
                + (f", the target holds {tenant['target_only']} more" if tenant["target_only"]
                   else "")
            )  # fmt: skip
            print(_line("source", tenant["source"]))
            print(_line("target", tenant["target"]) + ("  ok" if tenant["ok"] else "  MISMATCH"))
        if not data["tenants"]:
            print("nothing to copy")
    if not report.ok:
        print("error: the copy differs from the source (see MISMATCH above)", file=sys.stderr)
        return 1
    return 0
