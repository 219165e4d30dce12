"""Load test for the REST server: concurrent clients adding and searching against one big scope.

    python scripts/load_test.py                      # 100,000 memories, 32 clients, 30 s
    python scripts/load_test.py --n 20000 --json out/load.json

The one-scope case of ``memstrata bench serve`` (``memstrata.evals.load``), kept with its
original options: it pre-fills one scope with ``--n`` synthetic chat memories through the
library (``hashing`` embedder by default: the subject is the server, not the model; the filled
store is cached for the next run unless ``--db`` names one), starts ``memstrata serve`` on it,
runs ``--clients`` concurrent clients for ``--duration`` seconds, each request an add (one new
message) or a search in the ratio ``--search-share``, then stops the server and checks on the
store that every add the server acknowledged (HTTP 201) is stored. It prints the report as JSON
and exits non-zero if an acknowledged add is missing. For many scopes, several server processes
or PostgreSQL, run ``memstrata bench serve`` itself.
"""

from __future__ import annotations

import argparse
import io
import sys
from contextlib import redirect_stdout
from pathlib import Path

from memstrata.cli import main as memstrata


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="memories to pre-fill")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument("--search-share", type=float, default=0.5, help="share of searches")
    parser.add_argument("--embedder", default="hashing", help="embedder spec (default: hashing)")
    parser.add_argument("--db", type=Path, help="store file (default: a cached pre-filled one)")
    parser.add_argument(
        "--reuse", action="store_true", help="--db is already pre-filled: skip the pre-fill"
    )
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    args = parser.parse_args(argv)
    command = [
        "bench", "serve", "--scopes", "1", "--memories", str(args.n),
        "--clients", str(args.clients), "--duration", str(args.duration),
        "--write-share", str(1 - args.search_share), "--embedder", args.embedder,
        "--probes", "0", "--json",
    ]  # fmt: skip
    if args.db:
        command += ["--db", str(args.db), *(["--reuse"] if args.reuse else [])]
    out = io.StringIO()
    with redirect_stdout(out):
        status = memstrata(command)
    sys.stdout.write(out.getvalue())
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(out.getvalue(), encoding="utf-8")
    return status


if __name__ == "__main__":
    sys.exit(main())
