"""Measure the LLM write path end to end on LoCoMo messages, against the scripted server.

    python scripts/llm_pipeline_report.py --data PATH/locomo-dev.json [--messages 400]

No model is reachable here, so the scripted OpenAI-compatible server stands in for one: it
answers every extraction with one deterministic fact per message (messages of three words or
fewer, such as greetings, give none), naming the speaker and the capitalised words as entities,
and every consolidation with a decision derived from a hash of the fact (mostly ADD, some
UPDATE, INVALIDATE and NOOP), so that every path runs. What this measures is the pipeline's
own cost and behaviour: model calls and tokens per message (tokens as the scripted server
counts them, about 4 characters each), the latency ``add`` gains, what happens to the facts,
and that a failing model loses nothing. It says nothing about answer quality with a real model.

Conversations are added one session per ``add`` call, as ``memstrata eval`` does. A second run
injects faults (HTTP 500, 429, malformed JSON, timeouts) into a share of the extraction calls,
then runs ``reprocess``. The figures are printed with the git revision, the settings and the
prompt versions; ``--json`` prints them as one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from memstrata import Memory
from memstrata.evals.locomo import Conversation, load_locomo
from memstrata.llms import OpenAICompatLLM
from memstrata.prompts import versions
from memstrata.testing import Reply, ScriptedLLMServer
from memstrata.types import MemoryKind
from memstrata.write.guard import scan
from memstrata.write.pipeline import PipelineConfig

DEFAULT_DATA = "/work/shared/data/locomo/locomo-dev.json"
_CAPITALISED = re.compile(r"\b[A-Z][a-z]{2,}(?:\s+[A-Z][a-z]{2,})*")
_WORD = re.compile(r"[A-Za-z]{4,}")
_PREDICATES = ("likes", "visited", "works_on", "knows", "has", "attended", "plans", "bought")
_COMMON = frozenset(
    ["That", "This", "What", "When", "Where", "There", "They", "Thanks", "Thank", "Wow", "Hey"]
)


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big")


class DeterministicModel(ScriptedLLMServer):
    """The scripted server with replies computed from each prompt (see the module docstring).

    ``faults`` is the share of extraction requests answered with a fault instead.
    """

    def __init__(self, faults: float = 0.0) -> None:
        super().__init__()
        self.faults = faults
        self.injected: Counter[str] = Counter()
        self._count = 0

    def chat(self, headers: Mapping[str, str], body: Any) -> tuple[int, dict[str, str], str]:
        messages = body.get("messages") or []
        system = str(messages[0].get("content")) if messages else ""
        users = [m for m in messages if m.get("role") == "user"]
        user = str(users[0].get("content")) if users else ""  # the task, not a re-ask
        if "[prompt: extract_facts/" in system:
            self._count += 1
            fault = self._fault()
            reply = fault if fault is not None else Reply.json({"facts": extract(user)})
        elif "[prompt: consolidate/" in system:
            reply = Reply.json(decide(user))
        else:
            reply = Reply.error(404, "unknown prompt")
        self.enqueue(reply)
        return super().chat(headers, body)

    def _fault(self) -> Reply | None:
        if not self.faults or (_digest(f"fault{self._count}") % 1000) >= self.faults * 1000:
            return None
        kinds = ["server_error", "rate_limited", "malformed", "timeout"]
        kind = kinds[self._count % len(kinds)]
        self.injected[kind] += 1
        if kind == "server_error":
            return Reply.server_error()
        if kind == "rate_limited":
            return Reply.rate_limited(retry_after=0.01)
        if kind == "malformed":
            return Reply.malformed("I could not produce JSON, sorry.")
        return Reply.slow('{"facts": []}', delay=2.0)


def _starts(text: str, at: int) -> bool:
    """Whether position ``at`` starts a sentence (its capital says nothing about a name)."""
    before = text[:at].rstrip()
    return not before or before[-1] in ".!?\"'("


def extract(prompt: str) -> list[dict[str, Any]]:
    """One fact per message shown under NEW MESSAGES (none for three words or fewer); when
    EXISTING FACTS are shown, each fact comes with a decision about the first of them, drawn
    as ``decide`` draws a consolidation's."""
    shown = "\nEXISTING FACTS" in prompt
    lines = prompt.split("NEW MESSAGES\n", 1)[-1].splitlines()
    out: list[dict[str, Any]] = []
    for line in lines:
        if not line.startswith("{"):
            continue
        message = json.loads(line)
        text, speaker = " ".join(message["text"].split()), message["speaker"]
        if len(text.split()) <= 3:
            continue
        names = [
            m.group()
            for m in _CAPITALISED.finditer(text)
            if m.group() not in _COMMON and m.group() != speaker and not _starts(text, m.start())
        ]
        entities = list(dict.fromkeys([speaker, *names]))[:5]
        verb = _PREDICATES[_digest(text) % len(_PREDICATES)]
        relations = [[speaker, verb, n] for n in entities[1:2]]
        keywords = list(dict.fromkeys(w.lower() for w in _WORD.findall(text)))[:5]
        out.append(
            {
                "text": f"{speaker} said: {text[:240]}",
                "subject": speaker,
                "sources": [message["id"]],
                "importance": round(0.3 + (_digest(text) % 60) / 100, 2),
                "entities": entities,
                "relations": relations,
                "keywords": keywords,
                "flags": ["instruction"] if scan(text) else [],
            }
        )
        if shown:
            fact = out[-1]["text"]
            choice = decide(f"NEW FACT\n{fact}\nEXISTING MEMORIES")
            out[-1]["decision"] = choice["decision"]
            out[-1]["memory"] = None if choice["id"] is None else "E1"
            out[-1]["new_text"] = choice.get("new_text")
    return out


def decide(prompt: str) -> dict[str, Any]:
    """ADD 70%, UPDATE 10%, INVALIDATE 10%, NOOP 10% of the time, by a hash of the fact."""
    fact = prompt.split("NEW FACT", 1)[-1].split("EXISTING MEMORIES", 1)[0].strip()
    roll = _digest(fact) % 10
    if roll == 7:
        return {"decision": "UPDATE", "id": "1", "new_text": fact.splitlines()[-1], "reason": "r"}
    if roll == 8:
        return {"decision": "INVALIDATE", "id": "1", "reason": "r"}
    if roll == 9:
        return {"decision": "NOOP", "id": "1", "reason": "r"}
    return {"decision": "ADD", "id": None, "reason": "r"}


def sessions(conversations: Sequence[Conversation], limit: int) -> list[tuple[str, list[Any]]]:
    """(scope, messages) per session, in order, until ``limit`` messages."""
    out: list[tuple[str, list[Any]]] = []
    taken = 0
    for conv in conversations:
        current: int | None = None
        for turn in conv.turns:
            if taken >= limit:
                return out
            if turn.session != current:
                out.append((conv.sample_id, []))
                current = turn.session
            out[-1][1].append(turn.as_message())
            taken += 1
    return out


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def request_tokens(server: ScriptedLLMServer) -> dict[str, dict[str, int]]:
    """Requests and tokens per prompt, as the scripted server counts them (chars / 4 + 1)."""
    out: dict[str, dict[str, int]] = {}
    for r in server.chat_requests:
        row = out.setdefault(r.prompt or "-", {"requests": 0, "prompt": 0, "completion": 0})
        row["requests"] += 1
        row["prompt"] += sum(len(str(m.get("content"))) for m in r.messages) // 4 + 1
        if r.reply is not None and r.reply.content is not None and r.reply.status == 200:
            row["completion"] += len(r.reply.content) // 4 + 1
    return out


def ingest(
    work: Path, name: str, batches: Sequence[tuple[str, list[Any]]], *, embedder: str,
    llm: OpenAICompatLLM | None, config: PipelineConfig,
) -> tuple[Memory, list[float]]:  # fmt: skip
    mem = Memory(work / f"{name}.db", embedder=embedder, llm=llm, pipeline=config)
    timings = []
    for scope, messages in batches:
        started = time.perf_counter()
        mem.add(messages, user_id=scope)
        timings.append(time.perf_counter() - started)
    return mem, timings


def run(args: argparse.Namespace) -> dict[str, Any]:
    conversations = load_locomo(args.data)
    batches = sessions(conversations, args.messages)
    count = sum(len(m) for _, m in batches)
    scopes = sorted({s for s, _ in batches})
    config = PipelineConfig(batch_size=args.batch_size)
    result: dict[str, Any] = {
        "revision": _revision(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(),
        "prompt_versions": versions(),
        "settings": {"messages": count, "add_calls": len(batches), "embedder": args.embedder,
                     **{k: getattr(config, k) for k in config.__dataclass_fields__}},
        "guard_flags_in_slice": sum(
            1 for c in conversations for t in c.turns if scan(t.text)
        ),
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        plain, baseline = ingest(work, "plain", batches, embedder=args.embedder, llm=None,
                                 config=config)  # fmt: skip
        plain.close()
        with DeterministicModel() as server, OpenAICompatLLM(server.base_url, "scripted") as llm:
            mem, timings = ingest(work, "llm", batches, embedder=args.embedder, llm=llm,
                                  config=config)  # fmt: skip
            after_add = request_tokens(server)
            in_add = {**mem.pipeline.totals.to_dict()}
            started = time.perf_counter()
            for scope in scopes:
                mem.reprocess(user_id=scope)
            reprocess_s = time.perf_counter() - started
            totals = mem.pipeline.totals.to_dict()
            usage = request_tokens(server)
            episodes = sum(count_kind(mem, s, "episode") for s in scopes)
            facts = sum(count_kind(mem, s, "fact") for s in scopes)
            mem.close()
        extraction = usage.get("extract_facts", {"requests": 0, "prompt": 0, "completion": 0})
        consolidation = usage.get("consolidate", {"requests": 0, "prompt": 0, "completion": 0})
        result["calls"] = {
            "extraction_calls": extraction["requests"],
            "consolidation_calls": consolidation["requests"],
            "extraction_calls_per_10_messages": 10 * extraction["requests"] / count,
            "all_calls_per_10_messages": 10 * (extraction["requests"] + consolidation["requests"])
            / count,
            "extraction_calls_during_add": after_add.get("extract_facts", {}).get("requests", 0),
            "extraction_tokens_per_message": (extraction["prompt"] + extraction["completion"])
            / count,
            "consolidation_tokens_per_message": (
                consolidation["prompt"] + consolidation["completion"]
            ) / count,
            "prompt_tokens_per_message": (extraction["prompt"] + consolidation["prompt"]) / count,
            "completion_tokens_per_message": (
                extraction["completion"] + consolidation["completion"]
            ) / count,
        }  # fmt: skip
        result["latency"] = {
            "add_ms_p50": 1000 * statistics.median(timings),
            "add_ms_p95": 1000 * percentile(timings, 0.95),
            "add_ms_per_message": 1000 * sum(timings) / count,
            "add_ms_per_message_without_llm": 1000 * sum(baseline) / count,
            "messages_per_add": count / len(batches),
            "reprocess_s": reprocess_s,
        }
        result["outcome"] = {
            "episodes": episodes,
            "facts_stored": facts,
            "during_add": {k: in_add[k] for k in ("messages", "added")},
            **{k: totals[k] for k in ("messages", "batches", "failed_batches", "facts", "added",
                                      "updated", "invalidated", "unchanged", "duplicates",
                                      "dropped", "links", "entities")},
        }  # fmt: skip
        result["faults"] = faults(work, batches, scopes, count, args, config)
    return result


def faults(
    work: Path, batches: Sequence[tuple[str, list[Any]]], scopes: Sequence[str], count: int,
    args: argparse.Namespace, config: PipelineConfig,
) -> dict[str, Any]:  # fmt: skip
    """The same ingest with faults in a share of extraction calls, then ``reprocess``."""
    server = DeterministicModel(faults=args.faults)
    with (
        server,
        OpenAICompatLLM(server.start().base_url, "scripted", timeout=1.0, max_retries=1,
                        backoff=0.01) as llm,
    ):  # fmt: skip
        mem, timings = ingest(work, "faults", batches, embedder=args.embedder, llm=llm,
                              config=config)  # fmt: skip
        during = mem.pipeline.totals.to_dict()
        stored = sum(count_kind(mem, s, "episode") for s in scopes)
        server.faults = 0.0
        rounds, left = 0, None
        while left != 0 and rounds < 3:
            rounds += 1
            left = sum(mem.reprocess(user_id=s).pending for s in scopes)
        facts = sum(count_kind(mem, s, "fact") for s in scopes)
        mem.close()
        return {
            "share_of_extraction_calls": args.faults,
            "injected": dict(server.injected),
            "extraction_requests": sum(r.prompt == "extract_facts" for r in server.chat_requests),
            "failed_batches_during_add": during["failed_batches"],
            "messages_lost": count - stored,
            "add_ms_p95": 1000 * percentile(timings, 0.95),
            "reprocess_rounds": rounds,
            "pending_after_reprocess": left,
            "facts_stored": facts,
        }


def count_kind(mem: Memory, user: str, kind: MemoryKind) -> int:
    """Active memories of one kind in a scope."""
    total, cursor = 0, None
    while True:
        page = mem.list(user_id=user, kinds=[kind], limit=1000, cursor=cursor)
        total += len(page.records)
        if page.next_cursor is None:
            return total
        cursor = page.next_cursor


def _revision() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True, cwd=Path(__file__).parent)  # fmt: skip
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True,
                               cwd=Path(__file__).parent).stdout.strip()  # fmt: skip
        return out.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=DEFAULT_DATA, help="LoCoMo JSON file")
    parser.add_argument("--messages", type=int, default=400, help="messages to add")
    parser.add_argument("--batch-size", type=int, default=10, help="messages per extraction")
    parser.add_argument("--embedder", default="hashing", help="embedder spec (hashing, minilm)")
    parser.add_argument("--faults", type=float, default=0.2, help="share of faulty extractions")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    result = run(args)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print(result)
    return 0


def _print(r: dict[str, Any]) -> None:
    s, c, lat, o, f = r["settings"], r["calls"], r["latency"], r["outcome"], r["faults"]
    print(f"revision {r['revision']}  python {r['python']}  {r['machine']}")
    print(f"prompts {r['prompt_versions']}")
    print(f"{s['messages']} LoCoMo messages in {s['add_calls']} add calls (one per session), "
          f"batch size {s['batch_size']}, embedder {s['embedder']}")  # fmt: skip
    print(
        f"extraction calls {c['extraction_calls']} ({c['extraction_calls_per_10_messages']:.2f} "
        f"per 10 messages; {c['extraction_calls_during_add']} during add, the rest by "
        f"reprocess or retries); consolidation calls {c['consolidation_calls']}; all calls "
        f"{c['all_calls_per_10_messages']:.2f} per 10 messages"
    )
    print(
        f"tokens per message: extraction {c['extraction_tokens_per_message']:.0f}, "
        f"consolidation {c['consolidation_tokens_per_message']:.0f} "
        f"(prompt {c['prompt_tokens_per_message']:.0f}, completion "
        f"{c['completion_tokens_per_message']:.0f})"
    )
    print(
        f"add latency p50 {lat['add_ms_p50']:.0f} ms, p95 {lat['add_ms_p95']:.0f} ms per call of "
        f"{lat['messages_per_add']:.1f} messages; {lat['add_ms_per_message']:.1f} ms per message "
        f"(without an LLM {lat['add_ms_per_message_without_llm']:.1f}); reprocess "
        f"{lat['reprocess_s']:.2f} s"
    )
    print(
        f"{o['episodes']} episodes, {o['facts_stored']} facts stored: {o['facts']} extracted, "
        f"{o['added']} added, {o['updated']} updated, {o['invalidated']} invalidated, "
        f"{o['unchanged']} unchanged, {o['duplicates']} duplicates caught without a model, "
        f"{o['dropped']} dropped by the guard; {o['links']} links, {o['entities']} entity mentions"
    )
    print(f"guard flags in the whole slice: {r['guard_flags_in_slice']}")
    print(
        f"faults in {sum(f['injected'].values())} of {f['extraction_requests']} extraction "
        f"requests {f['injected']}: "
        f"{f['failed_batches_during_add']} batches failed during add, {f['messages_lost']} "
        f"messages lost, add p95 {f['add_ms_p95']:.0f} ms; after {f['reprocess_rounds']} "
        f"reprocess round(s) {f['pending_after_reprocess']} pending, {f['facts_stored']} facts"
    )


if __name__ == "__main__":
    sys.exit(main())
