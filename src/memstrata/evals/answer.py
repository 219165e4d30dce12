"""The optional answer step: answer each question from its retrieved context with a chat model,
then score the answer with LoCoMo's token F1 and with an LLM judge.

The answering model sees the question and the retrieved context, nothing else. The judge (the
same endpoint) sees the question, the gold answer and the generated answer, and says CORRECT or
WRONG. Responses are cached on disk, keyed by the whole request, so a rerun costs nothing.
LoCoMo's F1 stems words with NLTK's Porter stemmer; without ``nltk`` installed the F1 is
computed unstemmed, and the report says so.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, field_validator

from memstrata.errors import LLMError, LLMTruncatedError
from memstrata.evals.metrics import Stemmer, aggregate, answer_f1
from memstrata.evals.report import AnswerSummary
from memstrata.evals.runner import Prediction, Retrieved
from memstrata.ports import LLM
from memstrata.prompts import marker

ANSWER_VERSION = "eval_answer/1"
JUDGE_VERSION = "eval_judge/1"
#: What the answering model is told to say when the context does not hold the answer; it is
#: also the gold answer the judge gets for adversarial questions (LoCoMo's own wording).
NOT_MENTIONED = "Not mentioned in the conversation"

ANSWER_SYSTEM = f"""{marker(ANSWER_VERSION)}
You answer a question about a long conversation between two people, using only the memories
below, which were retrieved from it. Each memory line has its date and speaker. Resolve relative
dates ("last week") against the memory's date and answer with absolute dates. Answer with a short
phrase, not a sentence. If the memories do not contain the answer, reply exactly:
{NOT_MENTIONED}"""

JUDGE_SYSTEM = f"""{marker(JUDGE_VERSION)}
You grade an answer to a question about a conversation. You get the question, the gold answer
and the generated answer. Label it CORRECT when it states the same fact as the gold answer (it
may be longer or phrased differently; for a date, the same date in another format counts), and
WRONG otherwise. Reply with JSON only: {{"label": "CORRECT"}} or {{"label": "WRONG"}}."""


class JudgeOutput(BaseModel):
    label: Literal["CORRECT", "WRONG"]

    @field_validator("label", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value


def context_line(item: Retrieved) -> str:
    """One memory as the answering model sees it: ``[date] speaker: text``."""
    when = item.time.strftime("%Y-%m-%d") if item.time else None
    head = " ".join(part for part in (f"[{when}]" if when else None, item.speaker) if part)
    if not head:
        return item.text
    return f"{head}: {item.text}" if item.speaker else f"{head} {item.text}"


def render_answer(question: str, context: Sequence[Retrieved]) -> list[dict[str, str]]:
    memories = "\n".join(context_line(item) for item in context) or "(no memories)"
    return [
        {"role": "system", "content": ANSWER_SYSTEM},
        {"role": "user", "content": f"Memories:\n{memories}\n\nQuestion: {question}\nAnswer:"},
    ]


def render_judge(question: str, gold: str, answer: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": JUDGE_SYSTEM},
        {
            "role": "user",
            "content": f"Question: {question}\nGold answer: {gold}\nGenerated answer: {answer}",
        },
    ]


def parse_judge(text: str) -> float | None:
    """1 for CORRECT, 0 for WRONG, None when the reply says neither."""
    try:
        return 1.0 if JudgeOutput.model_validate_json(text).label == "CORRECT" else 0.0
    except ValueError:
        pass
    upper = text.upper()
    if "WRONG" in upper or "INCORRECT" in upper:
        return 0.0
    if "CORRECT" in upper:
        return 1.0
    return None


class CachedLLM:
    """An ``LLM`` that keeps every response in a directory, keyed by the whole request."""

    def __init__(self, llm: LLM, directory: Path) -> None:
        self.llm = llm
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.hits = 0

    @property
    def model(self) -> str:
        return self.llm.model

    def complete(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        json_schema: Mapping[str, Any] | None = None,
        temperature: float = 0.0,
        max_tokens: int | None = None,
    ) -> str:
        request = {
            "model": self.llm.model,
            "messages": [dict(m) for m in messages],
            "json_schema": json_schema,
            "temperature": temperature,
            "max_tokens": max_tokens,
        }
        key = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
        path = self.directory / f"{key}.json"
        if path.is_file():
            try:
                cached = json.loads(path.read_text(encoding="utf-8"))
                self.hits += 1
                return str(cached["response"])
            except (ValueError, KeyError):
                pass  # a torn or foreign file: ask again
        text = self.llm.complete(
            messages, json_schema=json_schema, temperature=temperature, max_tokens=max_tokens
        )
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"request": request, "response": text}), encoding="utf-8")
        tmp.replace(path)
        return text


def porter_stemmer() -> Stemmer | None:
    """NLTK's Porter stemmer (what LoCoMo's F1 uses), or None when nltk is not installed."""
    try:
        from nltk.stem import PorterStemmer  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    stem: Stemmer = PorterStemmer().stem
    return stem


class Answering:
    """Answers questions from retrieved context and scores the answers."""

    def __init__(self, llm: LLM, *, judge: bool = True, stem: Stemmer | None = None) -> None:
        self.llm = llm
        self.judge = judge
        self.stem = stem
        self.failures = 0

    @classmethod
    def open(
        cls,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        cache_dir: Path | None = None,
        judge: bool = True,
    ) -> Answering:
        from memstrata.llms import OpenAICompatLLM

        llm: LLM = OpenAICompatLLM(base_url, model, api_key)
        if cache_dir is not None:
            llm = CachedLLM(llm, cache_dir)
        return cls(llm, judge=judge, stem=porter_stemmer())

    def answer(self, question: str, context: Sequence[Retrieved]) -> str:
        try:
            return self.llm.complete(render_answer(question, context), max_tokens=100).strip()
        except LLMTruncatedError as exc:  # a short answer is asked for: its start is the answer
            return exc.partial.strip()
        except LLMError:
            self.failures += 1
            return ""

    def judge_one(self, prediction: Prediction) -> float:
        gold = prediction.gold
        truth = NOT_MENTIONED if gold.category == 5 else (gold.answer or "")
        try:
            reply = self.llm.complete(
                render_judge(prediction.question, truth, prediction.answer),
                json_schema=JudgeOutput.model_json_schema(),
                max_tokens=20,
            )
        except LLMTruncatedError as exc:  # the label comes first; ``parse_judge`` finds it
            reply = exc.partial
        except LLMError:
            self.failures += 1
            return 0.0
        verdict = parse_judge(reply)
        if verdict is None:
            self.failures += 1
            return 0.0
        return verdict

    def score(self, predictions: Sequence[Prediction]) -> AnswerSummary:
        stem = self.stem or (lambda word: word)
        f1 = aggregate(
            (p.gold.category, True, answer_f1(p.answer, p.gold.category, p.gold.answer, stem))
            for p in predictions
        )
        judged = (
            aggregate((p.gold.category, True, self.judge_one(p)) for p in predictions)
            if self.judge
            else None
        )
        return AnswerSummary(
            f1=f1,
            judge=judged,
            stemmed=self.stem is not None,
            model=self.llm.model,
            prompt_versions=self.prompt_versions(),
        )

    def prompt_versions(self) -> dict[str, str]:
        versions = {"answer": ANSWER_VERSION}
        if self.judge:
            versions["judge"] = JUDGE_VERSION
        return versions

    def settings(self) -> dict[str, Any]:
        return {
            "answer_model": self.llm.model,
            "answer_prompts": ",".join(self.prompt_versions().values()),
            "answer_f1_stemmed": self.stem is not None,
            "answer_failures": self.failures,
        }
