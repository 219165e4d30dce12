"""The LoCoMo loader, on a small file written in LoCoMo's format for these tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from memstrata.evals.locomo import (
    LocomoFormatError,
    load_locomo,
    parse_date_time,
    parse_locomo,
    turn_text,
    unmatched_evidence,
)

FIXTURE = Path(__file__).parents[1] / "fixtures" / "locomo_tiny.json"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1:56 pm on 8 May, 2023", datetime(2023, 5, 8, 13, 56, tzinfo=UTC)),
        ("12:06 am on 11 November, 2022", datetime(2022, 11, 11, 0, 6, tzinfo=UTC)),
        ("12:30 pm on 1 June, 2023", datetime(2023, 6, 1, 12, 30, tzinfo=UTC)),
        ("10:55 AM on 24 June 2022", datetime(2022, 6, 24, 10, 55, tzinfo=UTC)),
        ("9:05 p.m. on 3 Sept, 2021", datetime(2021, 9, 3, 21, 5, tzinfo=UTC)),
    ],
)
def test_session_date_times(text: str, expected: datetime) -> None:
    assert parse_date_time(text) == expected


@pytest.mark.parametrize(
    "text", ["", "yesterday", "13:00 pm on 1 May, 2023", "1:00 pm on 31 February, 2023"]
)
def test_bad_session_date_times(text: str) -> None:
    with pytest.raises(LocomoFormatError):
        parse_date_time(text)


def test_turn_text_adds_the_photo_caption() -> None:
    assert turn_text({"text": "Look!", "blip_caption": "a photo of a dog"}) == (
        "Look! [photo: a photo of a dog]"
    )
    assert turn_text({"text": "", "blip_caption": "a cat"}) == "[photo: a cat]"
    assert turn_text({"text": " Hi "}) == "Hi"
    # img_url, query and re-download are not part of what was said
    assert turn_text({"text": "x", "query": "q", "img_url": ["u"], "re-download": True}) == "x"


def test_loader_turns_messages_and_timestamps() -> None:
    convs = load_locomo(FIXTURE)
    assert [c.sample_id for c in convs] == ["tiny-1", "tiny-2"]
    first = convs[0]
    assert first.scope == "tiny-1"
    assert first.speakers == ("Ada", "Bo")
    assert [t.id for t in first.turns] == ["D1:1", "D1:2", "D1:3", "D2:1", "D2:2", "D2:3"]
    assert first.turns[2].text == (
        "Look at my garden today. [photo: a photo of tomatoes growing on a balcony]"
    )
    assert first.turns[5].text == "[photo: a photo of a cat sleeping on a sofa]"
    assert first.turns[0].timestamp == datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    assert first.turns[3].timestamp == datetime(2023, 6, 21, 10, 5, tzinfo=UTC)
    assert [t.session for t in first.turns] == [1, 1, 1, 2, 2, 2]
    message = first.messages()[0]
    assert message == {
        "id": "D1:1",
        "speaker": "Ada",
        "text": "Hi Bo! I adopted a kitten called Pixel last week.",
        "timestamp": datetime(2023, 5, 8, 13, 56, tzinfo=UTC),
    }


def test_loader_questions_keep_gold_apart() -> None:
    qs = load_locomo(FIXTURE)[0].questions
    assert qs[0].question == "What is the name of Ada's kitten?"
    assert qs[0].gold.category == 4
    assert qs[0].gold.evidence == ("D1:1",)
    assert qs[2].gold.evidence == ("D1:1; D2:2",)  # kept as written, not split
    assert qs[3].gold.evidence == ("D2:01",)  # kept as written, not unpadded
    assert qs[4].gold.evidence == ()
    assert qs[5].gold.category == 5
    assert qs[5].gold.answer is None
    assert qs[5].gold.adversarial_answer == "they need sun"


def test_unmatched_evidence_is_listed() -> None:
    assert unmatched_evidence(load_locomo(FIXTURE)) == [
        ("tiny-1", "D1:1; D2:2"),
        ("tiny-1", "D2:01"),
    ]


def test_sessions_are_ordered_by_number_not_by_key() -> None:
    data = [
        {
            "sample_id": "s",
            "conversation": {
                "session_10": [{"speaker": "A", "dia_id": "D10:1", "text": "ten"}],
                "session_2": [{"speaker": "A", "dia_id": "D2:1", "text": "two"}],
                "session_10_date_time": "1:00 pm on 2 May, 2023",
                "session_2_date_time": "1:00 pm on 1 May, 2023",
            },
            "qa": [],
        }
    ]
    assert [t.id for t in parse_locomo(data)[0].turns] == ["D2:1", "D10:1"]


def test_full_text_has_every_turn() -> None:
    conv = load_locomo(FIXTURE)[1]
    assert conv.full_text() == (
        "[session 1, 2022-01-21 19:31]\n"
        "Cy: I ran my first marathon in Berlin.\n"
        "Di: Congratulations! I am baking sourdough bread these days."
    )


@pytest.mark.parametrize(
    "data",
    [
        {"not": "a list"},
        [{"conversation": {}}],
        [{"sample_id": "x", "conversation": {"session_1": "oops"}}],
        [{"sample_id": "x", "conversation": {}, "qa": [{"question": "q?"}]}],
        [{"sample_id": "x", "conversation": {}}, {"sample_id": "x", "conversation": {}}],
    ],
)
def test_malformed_files_are_refused(data: object) -> None:
    with pytest.raises(LocomoFormatError):
        parse_locomo(json.loads(json.dumps(data)))
