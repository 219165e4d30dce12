"""Benchmarks of retrieval quality: dataset loaders, the benchmarks' own metrics, a runner.

- ``locomo``: LoCoMo conversations and questions, in the dataset's own JSON format.
- ``longmemeval``: LongMemEval questions with their haystacks, and that benchmark's metrics.
- ``metrics``: LoCoMo's official per-question recall and aggregation, recall@k, recall within a
  character budget, MRR, LoCoMo's answer F1; pure functions.
- ``baselines``: a standalone Okapi BM25 over raw turns, to check the harness itself.
- ``runner``: drives a retriever through the public API, one fresh scope per conversation.
- ``report``: Markdown, JSON and a PNG chart.
- ``cli``: ``memstrata eval locomo PATH`` and ``memstrata eval longmemeval PATH``.
"""

from __future__ import annotations
