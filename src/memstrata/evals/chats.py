"""Synthetic chat sessions between pairs of people, deterministic for a seed.

Each session is a short exchange between two people on one day: a greeting, then plans, news,
events with dates, photos (``[photo: CAPTION]`` as the LoCoMo loader writes a shared image),
questions, replies, emoji and the odd typo, each message a few minutes after the last. Sessions
fall anywhere from 2015 to 2026. The words come from large vocabularies (``evals.synthetic``
and the lists below), and most messages fill several slots, so exact repeats are rare (only the
shortest replies repeat); ``duplicate_share`` measures it.

The stream is prefix-stable: the first ``n`` messages of a seed are the same whatever larger
``n`` is asked for, so stores of different sizes share their first messages (and their cached
vectors). ``names`` mixes given first names (for example a dataset's speakers) into the people
who talk and are talked about, so that a name alone does not tell a distractor apart.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from memstrata.evals.locomo import Turn
from memstrata.evals.synthetic import (
    ACTIVITIES,
    FOODS,
    LATER,
    NAMES,
    PLACES,
    RELATIONS,
    THINGS,
    VENUES,
    synthetic_texts,
)

MORE_NAMES = (
    "Abebe", "Alice", "Amara", "Andrei", "Anjali", "Arturo", "Astrid", "Beatriz", "Ben",
    "Camille", "Chloe", "Daniel", "Diego", "Eitan", "Ella", "Emma", "Esther", "Farah", "Finn",
    "Gabriel", "Grace", "Hamza", "Hiro", "Ingrid", "Isaac", "Jade", "James", "Jasmine", "Kai",
    "Karim", "Kate", "Laila", "Leo", "Lucia", "Malik", "Marco", "Maya", "Mei", "Mohammed",
    "Nia", "Noah", "Nora", "Oscar", "Pablo", "Rahul", "Rania", "Sam", "Sara", "Sofia", "Tao",
    "Theo", "Tom", "Victor", "Yuki", "Zara", "Zoe", "Liam", "Mia", "Ethan", "Ava", "Lucas",
    "Amelia", "Mateus", "Chiara", "Oliver", "Hannah", "Samuel", "Leila", "Arjun", "Naomi",
)  # fmt: skip
PEOPLE = NAMES + MORE_NAMES
GREETINGS = (
    "Hey", "Hi", "Hello", "Heyy", "Morning", "Good morning", "Evening", "Yo", "Hiya",
    "Hey hey", "Howdy", "Hi there", "Oh hey",
)  # fmt: skip
HOW_ARE_YOU = (
    "how are you?", "how's it going?", "how was your week?", "long time no talk!",
    "what are you up to?", "how's everything?", "did you sleep ok?", "how was the weekend?",
    "are you free to chat?", "hope you're doing well.", "how's work treating you?",
    "you around?", "guess what happened", "I have news", "quick question for you",
)  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
EVENTS = (
    "wedding", "graduation", "birthday party", "housewarming", "job interview", "concert",
    "dentist appointment", "first day at the new job", "marathon", "baby shower", "book club",
    "school reunion", "driving test", "art exhibition", "charity run", "farewell dinner",
    "piano recital", "conference talk", "engagement party", "camping trip", "football match",
    "open mic night", "pottery class", "retirement party", "film festival", "science fair",
)  # fmt: skip
COMPANIES = (
    "a small design studio", "the city hospital", "a logistics startup", "the local newspaper",
    "a bike repair shop", "the university library", "an architecture firm", "a bakery chain",
    "a game studio", "the water utility", "a travel agency", "a solar panel company",
    "a vet clinic", "the public radio station", "a law office", "a robotics lab",
)  # fmt: skip
MOODS = (
    "tired", "excited", "a bit stressed", "so relieved", "happy", "nervous", "grateful",
    "proud", "homesick", "restless", "calm", "overwhelmed", "motivated", "sleepy",
)  # fmt: skip
REASONS = (
    "the deadline moved again", "my flight got cancelled", "I finally finished the project",
    "the neighbours had a party until 3am", "I got some good news", "the weather is perfect",
    "my car broke down", "I ran into an old friend", "we adopted a cat", "my exam went well",
    "the kids are sick", "I started a new routine", "my landlord raised the rent",
    "I got a promotion", "the heating is broken", "I booked my holiday",
)  # fmt: skip
PHOTO_SUBJECTS = (
    "a dog", "a cat", "a plate of food", "a birthday cake", "a mountain", "a sunset", "a beach",
    "a group of friends", "a bicycle", "a painting", "a bookshelf", "a garden", "a street",
    "a baby", "a tent", "a guitar", "a cup of coffee", "a bowl of noodles", "a wedding dress",
    "a car", "a train", "a snowman", "a bouquet of flowers", "a cupcake", "a sandcastle",
    "a lake", "a kitchen", "a pair of shoes", "a fireworks display", "a horse",
)  # fmt: skip
PHOTO_SETTINGS = (
    "on a wooden table", "in the snow", "at night", "next to a window", "on a couch",
    "in a park", "under a tree", "by the water", "in front of a building", "on a sunny day",
    "with a blue sky", "in a kitchen", "on the grass", "in a crowded room", "at a market",
    "on a mountain trail", "in the rain", "with balloons", "on a balcony", "at the beach",
)  # fmt: skip
PHOTO_INTROS = (
    "Look at this!", "Check this out", "This was today", "Found this on my phone",
    "Remember this?", "Just took this", "Sending you a pic", "Made this myself",
    "Isn't it pretty?", "Guess where I am", "Throwback", "The view right now",
)  # fmt: skip
SHORT = (
    "haha", "lol", "omg", "yes!", "no way", "same", "true", "ok", "sure", "wow", "nice",
    "really?", "aww", "yay", "hmm", "totally", "exactly", "ugh", "sounds good", "thanks!",
)  # fmt: skip
EMOJI = (
    "😂", "😊", "❤️", "👍", "🙏", "😅", "🎉", "😍", "🥲", "🙌", "😴", "🤔", "🔥", "✨",
    "😭", "🌞", "🍕", "🎂", "🐶", "📸", "🤗", "😬",
)  # fmt: skip
JUDGEMENTS = (
    "great", "a disaster", "fine", "really emotional", "way too long", "so much fun", "chaotic",
    "better than last year", "a bit awkward", "unforgettable", "pretty boring", "perfect",
)  # fmt: skip
EXAMS = (
    "driving test", "language exam", "first aid course", "final exam", "diving certificate",
    "citizenship test", "piano grade", "bar exam", "swimming test", "coding interview",
)  # fmt: skip
PETS = ("puppy", "kitten", "rabbit", "parrot", "tortoise", "hamster", "greyhound", "guinea pig")
SUBJECTS = (
    "nursing", "architecture", "data science", "history", "graphic design", "psychology",
    "marine biology", "accounting", "French", "music production", "teaching", "law",
)  # fmt: skip
PHOTO_DETAILS = (
    "", "", "", "with two people smiling", "and a dog in the corner", "in black and white",
    "with a red door behind", "blurry", "with a handwritten sign", "and a bicycle nearby",
    "with lights in the background", "and lots of flowers", "seen from above",
)  # fmt: skip
REACTIONS = (
    "that sounds amazing", "I'm so jealous", "that's hilarious", "oh no, I'm sorry",
    "good for you", "that's a lot", "I can't believe it", "you deserve it", "so cute",
    "that's wild", "I love that", "tell me more", "I had no idea", "fingers crossed",
)  # fmt: skip

#: Kinds of message and how often each comes after the opening greeting.
KINDS = (
    ("statement", 18), ("plan", 12), ("event", 13), ("photo", 8), ("question", 13),
    ("reply", 13), ("feeling", 8), ("news", 7), ("short", 2), ("recall", 5),
)  # fmt: skip
#: Sessions fall between these instants.
FIRST = datetime(2015, 1, 1, tzinfo=UTC)
LAST = datetime(2027, 1, 1, tzinfo=UTC)


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _date_phrase(rng: random.Random, when: datetime) -> str:
    """A date as people write it in chats, about the session's time."""
    day = rng.randrange(1, 29)
    forms = (
        f"on {rng.choice(WEEKDAYS)}",
        f"on {rng.choice(MONTHS)} {_ordinal(day)}",
        f"on the {_ordinal(day)}",
        f"{rng.randrange(2, 12)} days ago",
        f"last {rng.choice(WEEKDAYS)}",
        f"in {rng.choice(MONTHS)} {when.year - rng.randrange(0, 3)}",
        f"on {day}/{rng.randrange(1, 13)}",
        f"back in {when.year - rng.randrange(1, 8)}",
        f"{rng.randrange(2, 5)} weeks ago",
        "yesterday",
        "the weekend before last",
    )
    return rng.choice(forms)


def _future_phrase(rng: random.Random) -> str:
    forms = (
        f"on {rng.choice(WEEKDAYS)}",
        f"next {rng.choice(WEEKDAYS)}",
        f"on the {_ordinal(rng.randrange(1, 29))}",
        f"in {rng.choice(MONTHS)}",
        f"at {rng.randrange(5, 11)}pm",
        rng.choice(LATER),
    )
    return rng.choice(forms)


class _Session:
    """The slots one session talks about, so its messages hang together."""

    def __init__(self, rng: random.Random, cast: Sequence[str], when: datetime) -> None:
        self.rng = rng
        self.when = when
        self.a, self.b, self.other = cast
        self.place = rng.choice(PLACES)
        self.activity = rng.choice(ACTIVITIES)
        self.food = rng.choice(FOODS)
        self.thing = rng.choice(THINGS)
        self.venue = rng.choice(VENUES)
        self.event = rng.choice(EVENTS)

    def slots(self, listener: str, people: Sequence[str]) -> dict[str, Any]:
        """The session's topic (most of the time) and fresh words for the rest."""
        rng = self.rng

        def topic(value: str, vocabulary: Sequence[str]) -> str:
            return value if rng.random() < 0.6 else rng.choice(vocabulary)

        food = topic(self.food, FOODS)
        return {
            "listener": listener, "other": topic(self.other, people),
            "place": topic(self.place, PLACES), "activity": topic(self.activity, ACTIVITIES),
            "food": food, "food_bare": _bare(food), "thing": topic(self.thing, THINGS),
            "venue": topic(self.venue, VENUES), "event": topic(self.event, EVENTS),
            "relation": rng.choice(RELATIONS), "company": rng.choice(COMPANIES),
            "mood": rng.choice(MOODS), "mood_adj": rng.choice(JUDGEMENTS),
            "reason": rng.choice(REASONS), "date": _date_phrase(rng, self.when),
            "future": _future_phrase(rng), "money": rng.randrange(15, 900),
            "hours": rng.randrange(2, 19), "count": rng.randrange(2, 40),
            "days": rng.randrange(2, 22), "weeks": rng.randrange(2, 30),
            "reaction": rng.choice(REACTIONS), "place2": rng.choice(PLACES),
            "activity2": rng.choice(ACTIVITIES), "food2": _bare(rng.choice(FOODS)),
            "exam": rng.choice(EXAMS), "pet": rng.choice(PETS), "subject": rng.choice(SUBJECTS),
            "ordinal": _ordinal(rng.randrange(1, 29)),
            "clock": f"{rng.randrange(1, 13)}:{rng.choice(('00', '15', '30', '45'))}"
            + rng.choice(("am", "pm", "")),
        }  # fmt: skip


def _bare(phrase: str) -> str:
    """A noun phrase without its indefinite article ("a lemon tart" -> "lemon tart")."""
    for article in ("a ", "an "):
        if phrase.startswith(article):
            return phrase[len(article) :]
    return phrase


FORMS: dict[str, tuple[str, ...]] = {
    "plan": (
        "Want to go {activity} at {venue} {future}? {other} might come too",
        "Are we still on for {food_bare} with {other} {future}?",
        "I'm planning a trip to {place} {future} for {days} days, you should come!",
        "{other} and I want to try {venue} {future}, join us? It's about {money} each",
        "Should we book the {event} tickets now? They're {money} each and {other} has one",
        "I was thinking we could do {activity2} near {place2} {future} if the weather holds",
        "Can you pick me up at {clock} {future}? My bike has a flat",
        "Let's finally cook {food_bare} together {future}, I'll bring {food2}",
        "Dinner at {venue} {future}? {other} is in town until the {ordinal}",
        "I signed up for a {activity} class at {venue}, {money} for {weeks} weeks",
    ),
    "event": (
        "{relation}'s {event} was {date}, it went on until {clock}",
        "I went {activity} in {place} {date} with {other}",
        "{date} I finally had {food} at {venue} with {other}",
        "My {event} is {future} and I'm not ready at all, {reason}",
        "We moved into the new flat in {place2} {date}, {count} boxes and one sofa",
        "{other} got married {date} in {place2}, the ceremony was by a lake",
        "I had my {event} {date} and it went better than I thought, {other} came to watch",
        "{date} I ran into {other} at {venue} of all places",
        "Flew back from {place} {date}, still jet-lagged after {hours} hours on planes",
        "{date} we spent {hours} hours at {venue} talking about {activity2}",
        "I started working at {company} in {place2} {date}, so far so good",
        "Our {event} is set for {future} at {venue}, save the date!",
    ),
    "question": (
        "Did you ever try {activity} in {place2}?",
        "How did the {event} go? {other} said it was {mood_adj}",
        "Have you been to {place}? {other} says the {food_bare} there is amazing",
        "What are you doing {future}? I might go {activity2}",
        "Do you still have {thing}? {other} wants to borrow it {future}",
        "Is {other} coming to the {event} {future}?",
        "Where did you get that {food_bare}, was it {venue} or {other}'s place?",
        "When are you moving to {place2}? Before the {event}?",
        "How long have you been into {activity2}? {other} just started too",
        "What did {other} say about {venue} and the {food_bare}?",
        "Can I borrow {thing} {future}? I'll give it back by the {ordinal}",
        "Any tips for {place}? Going there {future} with {relation}",
    ),
    "reply": (
        "{reaction}! I went to {place2} once with {relation}, loved it",
        "haha {reaction}. {other} told me the same about {venue}",
        "Yes! I did {activity} for {count} years as a kid in {place2}",
        "Not yet, maybe {future} after the {event}",
        "{reaction}. I still think about the {food_bare} at {venue}",
        "Oh {listener}, {reaction}! {other} will be thrilled",
        "I think {other} has {thing}, ask them {future}",
        "It was ok, a bit long. The {food_bare} was great though, {money} well spent",
        "No, {other} cancelled at the last minute because {reason}",
        "{reaction}! How much was {thing}, {money}?",
        "Only if we get {food_bare} after, {listener}. {reaction}",
    ),
    "feeling": (
        "Feeling {mood} today, {reason}. Going {activity2} later to clear my head",
        "Honestly {mood}. {reason} and {other} isn't answering",
        "I'm {mood} because {reason}, and then {other} called",
        "So {mood} right now. {reason}, I need {days} days in {place2}",
        "{reason}... feeling {mood}. Want to get {food_bare} {future}?",
    ),
    "news": (
        "Guess what, I got the job at {company} in {place2}!",
        "Big news: {other} and I are moving to {place} {future}",
        "I finally bought {thing}! It was {money} dollars at {venue}",
        "I passed my {exam} after {count} tries!! {other} owes me {food_bare}",
        "{relation} is coming to visit {future} for {days} days, with {thing}",
        "We're adopting a {pet} {future}, {other} found it at the shelter",
        "I quit {activity} after {weeks} weeks, switching to {activity2}",
        "I'm going back to school to study {subject} in {place2} {future}",
    ),
    "recall": (
        "Remember when we did {activity} in {place} with {other}?",
        "That reminds me of the {event} at {venue} {date}",
        "Remember {other}'s {food_bare} at the {event}? Still the best I've had",
        "Like that time we got lost in {place2} looking for {venue}",
        "Last time we went to {venue} it was closed, remember? That was {date}",
    ),
}


def _typo(rng: random.Random, text: str) -> str:
    """One typo: two letters swapped, a letter dropped or doubled, in one longer word."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not candidates:
        return text
    i = rng.choice(candidates)
    word = words[i]
    j = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        word = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    elif kind == 1:
        word = word[:j] + word[j + 1 :]
    else:
        word = word[:j] + word[j] + word[j:]
    words[i] = word
    return " ".join(words)


def _style(rng: random.Random, text: str) -> str:
    """How a person types: lower case, no full stop, an emoji, a typo, now and then."""
    if rng.random() < 0.08:
        text = _typo(rng, text)
    if rng.random() < 0.15:
        text = text[0].lower() + text[1:]
    if text[-1] not in ".!?]" and rng.random() < 0.3:
        text += rng.choice((".", "!", "!!", "..."))
    if rng.random() < 0.2:
        text += " " + rng.choice(EMOJI) * rng.choice((1, 1, 1, 2))
    return text


def _message(
    session: _Session, kind: str, listener: str, people: Sequence[str], bench: Iterator[str]
) -> str:
    rng = session.rng
    if kind == "greeting":
        name = listener if rng.random() < 0.6 else ""
        text = f"{rng.choice(GREETINGS)} {name}".rstrip() + f"{rng.choice(('!', ',', ''))} "
        text += rng.choice(HOW_ARE_YOU)
        if rng.random() < 0.5:
            text += " " + _fill(
                session, "event" if rng.random() < 0.5 else "feeling", listener, people
            )
        return text
    if kind == "statement":
        return next(bench)
    if kind == "photo":
        caption = f"{rng.choice(PHOTO_SUBJECTS)} {rng.choice(PHOTO_SETTINGS)}"
        detail = rng.choice(PHOTO_DETAILS)
        caption = f"{caption} {detail}" if detail else caption
        if rng.random() < 0.3:
            return f"[photo: {caption}]"
        intro = rng.choice(PHOTO_INTROS)
        if rng.random() < 0.5:
            intro += f" from {session.place}" if rng.random() < 0.5 else f", {session.venue}"
        return f"{intro} [photo: {caption}]"
    if kind == "short":
        text = rng.choice(SHORT)
        extra = rng.random()
        if extra < 0.45:
            text += f" {listener}"
        elif extra < 0.8:
            text += " " + rng.choice(REACTIONS)
        return text
    return _fill(session, kind, listener, people)


def _fill(session: _Session, kind: str, listener: str, people: Sequence[str]) -> str:
    form = session.rng.choice(FORMS[kind])
    text = form.format(**session.slots(listener, people))
    return text[0].upper() + text[1:]


_KIND_NAMES = [kind for kind, _ in KINDS]
_KIND_WEIGHTS = [weight for _, weight in KINDS]


def _weighted(rng: random.Random) -> str:
    return rng.choices(_KIND_NAMES, weights=_KIND_WEIGHTS)[0]


def chat_sessions(seed: int = 0, names: Iterable[str] = ()) -> Iterator[list[Turn]]:
    """An endless stream of sessions, the same for the same ``seed`` and ``names``: each a
    list of ``Turn`` (the loader's turn: id, speaker, text, session, time), with ids
    ``syn-S-T`` (session S, turn T)."""
    rng = random.Random(seed)
    given = sorted({n for n in names if n})
    people = list(PEOPLE) + [n for n in given if n not in PEOPLE]
    # The given names talk, and are talked about, about as often as 20 of the others together.
    weights = [1.0] * len(PEOPLE) + [20.0 / max(1, len(given))] * (len(people) - len(PEOPLE))
    bench = synthetic_texts(2**62, seed=rng.randrange(2**32))
    span = int((LAST - FIRST).total_seconds())
    number = 0
    while True:
        number += 1
        start = FIRST + timedelta(seconds=rng.randrange(span))
        start = start.replace(hour=rng.randrange(7, 24))
        cast = [rng.choices(people, weights)[0] for _ in range(3)]
        if len(set(cast)) < 3:
            cast = rng.sample(people, 3)
        session = _Session(rng, cast, start)
        length = rng.randrange(3, 25)
        speaker, listener = session.a, session.b
        when = start
        messages = []
        for turn in range(length):
            kind = "greeting" if turn == 0 and rng.random() < 0.7 else _weighted(rng)
            text = _style(rng, _message(session, kind, listener, people, bench))
            messages.append(Turn(f"syn-{number}-{turn + 1}", speaker, text, number, when))
            when += timedelta(seconds=rng.randrange(20, 12 * 60))
            if rng.random() < 0.8:
                speaker, listener = listener, speaker
        yield messages


def chat_messages(n: int, seed: int = 0, names: Iterable[str] = ()) -> list[list[Turn]]:
    """The first ``n`` messages of the stream, in their sessions (the last one may be cut)."""
    out: list[list[Turn]] = []
    left = n
    if left <= 0:
        return out
    for session in chat_sessions(seed, names):
        out.append(session[:left])
        left -= len(out[-1])
        if left <= 0:
            break
    return out


def duplicate_share(texts: Iterable[str]) -> float:
    """The share of texts that repeat an earlier text exactly (0 when all are distinct)."""
    counts = Counter(texts)
    total = sum(counts.values())
    return (total - len(counts)) / total if total else 0.0
