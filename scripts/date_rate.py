"""How long the date parser (``timeexpr.resolve_dates``) takes a message, on the synthetic
chat messages ``memstrata eval scale`` adds as distractors (they name dates often)::

    python scripts/date_rate.py [--messages 20000]

Prints the best of three passes over the same messages, in µs a message.
"""

from __future__ import annotations

import argparse
import itertools
import time
from datetime import date

from memstrata.evals.chats import chat_messages
from memstrata.timeexpr import resolve_dates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20000)
    args = parser.parse_args()
    sessions = chat_messages(args.messages, seed=0)
    texts = [m.text for m in itertools.islice(itertools.chain.from_iterable(sessions),
                                              args.messages)]  # fmt: skip
    at = date(2024, 1, 1)
    passes = []
    for _ in range(3):
        start = time.perf_counter()
        found = sum(len(resolve_dates(text, at)) for text in texts)
        passes.append((time.perf_counter() - start) / len(texts) * 1e6)
    print(f"{len(texts)} messages, {found} dates: {min(passes):.1f} µs a message (best of 3)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
