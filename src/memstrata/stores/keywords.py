"""How a store keeps a keyword search's cost bounded as it grows (both backends).

A keyword search reads the postings of every word of its OR-query and scores every memory that
matches any of them. In a store of 100,000 chat memories the commonest words of a question
("my", "for", "plan") match tens of thousands: scoring them all costs tens of milliseconds to
return fifty. So once the part of the index a search reads holds more than ``LARGE_STORE``
memories (SQLite: the searched scope's, whose postings alone it reads; PostgreSQL: the store's,
by its highest pk), the words are asked for rarest first while the memories they match
(summed) stay within ``POSTINGS_BUDGET``; the rarest word that matches anything is always
kept, and words that match nothing cost nothing and stay. The common words left out are the
ones with the smallest weight in the ranking (BM25's idf). A smaller store or scope asks for
every word: its ranking does not change (the LoCoMo evaluation's stores hold a few thousand
memories).

How many memories a word matches comes from the store's own full-text index (so stemming and
stop words are the search's own), counted up to ten times the budget, kept per process and
part of the index, and counted again once that part has grown by a tenth.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence

#: Stores (on SQLite: scopes) with more memories than this bound a keyword search's cost.
LARGE_STORE = 20_000
#: A keyword search in a large store asks for words matching at most about this many memories
#: in all (see above).
POSTINGS_BUDGET = 2_000


def choose_words(postings: Mapping[str, int], budget: int = POSTINGS_BUDGET) -> list[str]:
    """The words to ask for, given how many memories each matches (pure).

    Every word when their matches sum to at most ``budget``; otherwise the words that match
    nothing, and the others rarest first while the sum stays within ``budget`` (the rarest is
    kept whatever its count). Sorted.
    """
    if sum(postings.values()) <= budget:
        return sorted(postings)
    chosen = [w for w, n in postings.items() if n == 0]
    total = 0
    for n, word in sorted((n, w) for w, n in postings.items() if n > 0):
        if total and total + n > budget:
            break
        chosen.append(word)
        total += n
    return sorted(chosen)


class WordCounts:
    """How many memories each word matches, counted once per process, part of the index
    (a backend's ``space``: the whole store, or a scope's share) and size."""

    def __init__(self) -> None:
        # (space, word) -> (count, size when counted)
        self._counts: dict[tuple[Hashable, str], tuple[int, int]] = {}

    def choose(
        self,
        words: Sequence[str],
        budget: int,
        top: int,
        count: Callable[[str, int], int],
        *,
        space: Hashable = None,
    ) -> list[str]:
        """``choose_words`` for ``words`` in a part of the index (``space``) that holds
        ``top`` memories; ``count(word, cap)`` counts the memories there matching ``word``,
        stopping at ``cap``."""
        if len(self._counts) > 100_000:
            self._counts.clear()
        postings: dict[str, int] = {}
        for word in words:
            cached = self._counts.get((space, word))
            if cached is None or top > cached[1] + cached[1] // 10:
                cached = self._counts[space, word] = (int(count(word, 10 * budget)), top)
            postings[word] = cached[0]
        return choose_words(postings, budget)
