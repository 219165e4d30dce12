"""Deterministic synthetic chat text: the vocabularies, bench sentences and questions.

``synthetic_texts`` gives chat-like sentences drawn from twenty templates over large
vocabularies (names, relations, places, venues, things, activities, foods, times, numbers,
remarks), so that almost no two are alike; ``synthetic_queries`` asks questions about them.
``memstrata bench`` stores them; the chat generator (``evals.chats``) builds on the same words.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

NAMES = (
    "Ada", "Bruno", "Chen", "Dara", "Emeka", "Fatima", "Goran", "Hana", "Ivo", "Jun", "Kofi",
    "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Vera",
    "Wen", "Ximena", "Yusuf", "Zofia", "Aiko", "Bilal", "Carmen", "Dmitri", "Elif", "Felix",
    "Greta", "Hugo", "Ines", "Jonas", "Kavya", "Luca", "Mireille", "Nikolai", "Olu", "Paulo",
    "Ravi", "Sakura", "Tomas", "Valentina", "Wanjiru", "Yara",
)  # fmt: skip
RELATIONS = (
    "my sister", "my brother", "my neighbour", "my boss", "my cousin", "an old school friend",
    "my flatmate", "my grandmother", "my running coach", "my colleague", "my landlord",
    "my best friend", "my uncle", "my piano teacher", "my partner", "my niece",
)  # fmt: skip
PLACES = (
    "Lisbon", "Nairobi", "Osaka", "Quito", "Tallinn", "Hanoi", "Porto", "Accra", "Cusco",
    "Bergen", "Marrakesh", "Oaxaca", "Tbilisi", "Kraków", "Valparaíso", "Hobart", "Montreal",
    "Seville", "Kyoto", "Zanzibar", "Reykjavik", "Ljubljana", "Cartagena", "Penang", "Dakar",
    "Bruges", "Tromsø", "Salzburg", "Chiang Mai", "Cape Town", "Halifax", "Galway", "Trieste",
    "Luang Prabang", "Mendoza", "Bologna", "Busan", "Fez", "Plovdiv", "Sapporo", "Asheville",
    "Tasmania", "the Dolomites", "the Scottish Highlands", "the Atacama desert",
    "the Lofoten islands", "Lake Titicaca", "the Amalfi coast",
)  # fmt: skip
VENUES = (
    "the farmers market", "a tiny ramen bar", "the climbing gym", "the public library",
    "the community garden", "a jazz club", "the night market", "my favourite bakery",
    "the old cinema downtown", "the hospital cafeteria", "a rooftop bar", "the train station",
    "the swimming pool", "the flea market", "a vegan restaurant", "the museum of science",
    "the dog park", "a board game café", "the yoga studio", "the hardware store",
)  # fmt: skip
THINGS = (
    "a bicycle", "a sourdough starter", "a telescope", "a ukulele", "a kayak", "a puppy",
    "a chess set", "a camera", "a pottery wheel", "a record player", "a sewing machine",
    "an espresso machine", "a drone", "a tent", "a mechanical keyboard", "a bonsai tree",
    "a pair of hiking boots", "a 3D printer", "an electric scooter", "a violin",
    "a cast-iron pan", "a fish tank", "a standing desk", "a set of watercolours", "a kite",
    "a pair of binoculars", "a typewriter", "a snowboard", "a rice cooker", "a hammock",
    "a vintage lamp", "a yoga mat", "a cookbook about Lebanese food", "a jigsaw puzzle",
    "a pair of roller skates", "a microscope",
)  # fmt: skip
ACTIVITIES = (
    "hiking", "painting", "swimming", "baking bread", "bouldering", "reading science fiction",
    "learning Portuguese", "running", "birdwatching", "woodworking", "knitting", "salsa dancing",
    "playing chess", "gardening", "surfing", "photography", "pottery", "cycling", "fishing",
    "writing poetry", "learning the cello", "volunteering at the shelter", "fermenting kimchi",
    "trail running", "sketching", "stargazing", "sailing", "rowing", "calligraphy", "judo",
    "playing the drums", "cross-country skiing", "foraging mushrooms", "making candles",
    "restoring furniture", "studying Japanese",
)  # fmt: skip
FOODS = (
    "dumplings", "a mushroom risotto", "shakshuka", "tacos al pastor", "pho", "a lemon tart",
    "jollof rice", "pierogi", "a lamb tagine", "pad thai", "ceviche", "banana bread", "ramen",
    "a spinach lasagne", "falafel", "paella", "curry laksa", "apple crumble", "bibimbap",
    "goulash",
)  # fmt: skip
TIMES = (
    "last weekend", "on Tuesday evening", "in early March", "two days ago", "over the holidays",
    "yesterday morning", "last summer", "on my birthday", "during the heatwave", "in October",
    "a few weeks ago", "on New Year's Eve", "last night", "this morning", "in the spring",
    "after work on Friday", "during the long weekend", "back in 2019", "last month",
    "on Sunday afternoon",
)  # fmt: skip
LATER = (
    "next weekend", "on Saturday", "next month", "after my exams", "in the summer",
    "tomorrow", "once it stops raining", "before the holidays",
)  # fmt: skip
REMARKS = (
    "", "", "", "Honestly it was exhausting.", "I can't stop thinking about it.",
    "It rained the whole time.", "We laughed so much.", "I'd do it again tomorrow.",
    "It was more expensive than I expected.", "My knee still hurts a bit.",
    "I took loads of photos.", "I think I'm finally getting the hang of it.",
    "It felt like a small adventure.", "Nothing went to plan, but it was fun.",
    "I should write it down before I forget.", "It made me a bit homesick.",
)  # fmt: skip
TEMPLATES = (
    "I went {activity} near {place} with {person} {time}.",
    "{person} gave me {thing} for my birthday, I love it.",
    "I'm thinking about moving to {place} next year for work; the rent is about {money} a month.",
    "{time} {person} and I talked for {hours} hours about {activity}.",
    "I finally bought {thing} for {money} dollars; {person} helped me choose it.",
    "{person} lives in {place} and is really into {activity}.",
    "Do you remember when {person} tried {activity} in {place}? What a day.",
    "I started {activity} {weeks} weeks ago and I'm getting better.",
    "We had {food} at {venue} {time}, {person} paid.",
    "{person} is turning {age} and wants to celebrate in {place}.",
    "I lost {thing} at {venue} {time} and I'm still annoyed.",
    "My plan for {place}: {days} days, mostly {activity}, and trying {food}.",
    "I cooked {food} for {count} people {time}; {person} asked for the recipe.",
    "{person} recommended {venue} for {activity}, so I'll go {later}.",
    "I've been saving for {thing}; I'm at {money} dollars so far.",
    "Met {person} at {venue} {time}, we ended up talking about {place}.",
    "My flight to {place} is at {clock} on the {day}th, and {person} is driving me.",
    "I borrowed {thing} from {person} {time} and still haven't returned it.",
    "I ran {km} kilometres {time}, my best since I started {activity}.",
    "{person} and I are planning a trip to {place} to go {activity}.",
)  # fmt: skip
QUERY_FORMS = (
    "Where did I go {activity}?",
    "What did {name} give me?",
    "Who lives in {place}?",
    "When did I talk with {name} about {activity}?",
    "What did I buy for {money} dollars?",
    "Where did we eat {food}?",
    "How long have I been doing {activity}?",
    "What did I lose at {venue}?",
    "Who is planning a trip to {place}?",
    "What is my plan for {place}?",
    "Who recommended {venue}?",
    "What did I borrow from {name}?",
    "When is my flight to {place}?",
    "How old is {name} turning?",
    "Did I ever cook {food} for friends?",
    "What am I saving up for?",
)  # fmt: skip


def _person(rng: random.Random) -> str:
    name = rng.choice(NAMES)
    return name if rng.random() < 0.6 else f"{rng.choice(RELATIONS)} {name}"


def synthetic_texts(n: int, seed: int = 7) -> Iterator[str]:
    """``n`` chat-like sentences, the same for the same seed."""
    rng = random.Random(seed)
    for _ in range(n):
        template = TEMPLATES[rng.randrange(len(TEMPLATES))]
        text = template.format(
            person=_person(rng), place=rng.choice(PLACES), thing=rng.choice(THINGS),
            activity=rng.choice(ACTIVITIES), food=rng.choice(FOODS), venue=rng.choice(VENUES),
            time=rng.choice(TIMES), later=rng.choice(LATER), money=rng.randrange(20, 2000),
            hours=rng.randrange(2, 6), weeks=rng.randrange(2, 40), age=rng.randrange(18, 90),
            days=rng.randrange(2, 15), count=rng.randrange(3, 13), day=rng.randrange(4, 29),
            clock=f"{rng.randrange(5, 23)}:{rng.choice(('00', '15', '30', '45'))}",
            km=rng.randrange(3, 43),
        )  # fmt: skip
        text = text[0].upper() + text[1:]
        remark = rng.choice(REMARKS)
        yield f"{text} {remark}" if remark else text


def synthetic_queries(n: int, seed: int = 11) -> list[str]:
    """``n`` questions about the synthetic memories, the same for the same seed."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        form = rng.choice(QUERY_FORMS)
        text = form.format(
            name=rng.choice(NAMES), place=rng.choice(PLACES), activity=rng.choice(ACTIVITIES),
            food=rng.choice(FOODS), venue=rng.choice(VENUES), money=rng.randrange(20, 2000),
        )  # fmt: skip
        out.append(text)
    return out
