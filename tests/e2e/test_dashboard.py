"""The dashboard in headless Chromium against a real ``memstrata serve``: log-in, search, a
memory's page, editing with versions and a diff, delete and restore, archive, the timeline and
the graph, and one tenant that cannot see another's memories."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from dashboard_helpers import SCOPE, Api, log_in
from dashboard_seed import GLOBEX, USER, Seeded
from playwright.sync_api import Page, expect

from memstrata.prompts import extract_facts

pytestmark = pytest.mark.slow  # a server process and a browser


def open_memory(page: Page, memory: dict[str, Any]) -> None:
    page.goto(f"/#/memory/{memory['id']}?{SCOPE}")
    expect(page.get_by_test_id("memory-text")).to_have_text(memory["text"])


def ids(page: Page, selector: str) -> set[str]:
    return {row.get_attribute("data-id") or "" for row in page.locator(selector).all()}


# -- log-in ---------------------------------------------------------------------------------------
def test_log_in_refuses_a_wrong_key_then_shows_the_tenants_scopes(
    page: Page, seeded: Seeded, acme: Api
) -> None:
    page.goto("/")
    page.fill("#api-key", "ms_not-a-key-of-this-server")
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_contain_text("refused")
    log_in(page, seeded.keys["acme"], "acme")
    (scope,) = acme.client.get("/v1/scopes").json()
    row = page.get_by_test_id("scope-row")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(0)).to_have_text(USER)
    expect(row.locator("td").nth(3)).to_have_text(str(scope["memories"]))
    expect(row.locator("td").nth(4)).to_have_text(str(scope["active"]))
    key = page.evaluate("sessionStorage.getItem('memstrata.apiKey')")
    assert key == seeded.keys["acme"]
    page.reload()  # the key lasts for the tab
    expect(page.get_by_test_id("tenant")).to_have_text("acme")
    page.get_by_role("button", name="Log out").click()
    expect(page.locator("#api-key")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('memstrata.apiKey')") is None


# -- search ---------------------------------------------------------------------------------------
def test_search_shows_each_hit_with_its_score_and_signals(
    page: Page, seeded: Seeded, acme: Api
) -> None:
    log_in(page, seeded.keys["acme"], "acme")
    page.goto(f"/#/search?{SCOPE}")
    page.get_by_test_id("query").fill("Who is the tutor of Ada?")
    page.get_by_test_id("filter-kind").select_option("fact")
    page.get_by_role("button", name="Search").click()
    hits = page.get_by_test_id("hit")
    expect(hits.first).to_contain_text("Joana")
    assert "q=Who+is+the+tutor" in page.url and "kind=fact" in page.url  # a view is a link
    assert hits.count() >= 3
    for row in hits.all():
        # A score is the ranker's (a logit for the default ranker: it may be negative).
        assert re.fullmatch(r"-?\d+\.\d{3}", row.get_by_test_id("score").inner_text())
        assert row.locator("[data-signal]").count() >= 1
        expect(row.locator(".badge").first).to_have_text("fact")
    scores = [float(s) for s in page.get_by_test_id("score").all_inner_texts()]
    assert scores == sorted(scores, reverse=True)
    found = acme.client.post(
        "/v1/memories/search",
        json={"user_id": USER, "query": "Who is the tutor of Ada?", "kinds": ["fact"]},
    ).json()["hits"]
    assert hits.first.get_attribute("data-id") == found[0]["id"]
    signals = set(
        hits.first.locator("[data-signal]").evaluate_all("els => els.map(e => e.dataset.signal)")
    )
    assert signals == set(found[0]["signals"])


def test_search_filters_by_event_time_and_state(page: Page, seeded: Seeded) -> None:
    log_in(page, seeded.keys["acme"], "acme")
    page.goto(f"/#/search?{SCOPE}&q=Ada&since=2026-06-01")
    expect(page.get_by_test_id("hit").first).to_be_visible()
    times = page.locator("[data-testid=hit] td:nth-child(6)").all_inner_texts()
    assert times and all(t >= "2026-06-01" for t in times), times
    page.goto(f"/#/search?{SCOPE}&q=Ada&since=2030-01-01")
    expect(page.get_by_text("Nothing in this scope answers that.")).to_be_visible()
    page.goto(f"/#/search?{SCOPE}&kind=episode&limit=100")  # no question: a listing
    expect(page.get_by_test_id("listed").first).to_be_visible()
    kinds = set(page.locator("[data-testid=listed] td:nth-child(2)").all_inner_texts())
    assert kinds == {"episode"}


def test_the_filter_builder_lists_what_its_where_expression_matches(
    page: Page, seeded: Seeded, acme: Api
) -> None:
    log_in(page, seeded.keys["acme"], "acme")
    want = {"and": [{"importance": {"gte": 0.8}}, {"kind": {"in": ["fact", "summary"]}}]}
    expected = {m["id"] for m in acme.memories(where=json.dumps(want))}
    assert expected and len(expected) < len(acme.memories())  # the filter narrows the listing
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/v1/memories?" in r.url else None)
    page.goto(f"/#/search?{SCOPE}&limit=100")
    expect(page.get_by_test_id("listed").first).to_be_visible()
    page.get_by_test_id("where-field").fill("importance")
    page.get_by_test_id("where-op").select_option("gte")
    page.get_by_test_id("where-value").fill("0.8")
    page.get_by_test_id("where-add").click()
    page.get_by_test_id("where-field").nth(1).fill("kind")
    page.get_by_test_id("where-op").nth(1).select_option("in")
    page.get_by_test_id("where-value").nth(1).fill("fact, summary")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("listed")).to_have_count(len(expected))
    assert ids(page, "[data-testid=listed]") == expected
    query = parse_qs(urlsplit(sent[-1]).query)
    assert json.loads(query["where"][0]) == want
    # The page keeps the rows it was given; a filter the server refuses says why.
    expect(page.get_by_test_id("where-row")).to_have_count(2)
    page.get_by_test_id("where-field").first.fill("colour")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("unknown field 'colour'")).to_be_visible()


def test_search_with_a_budget_shows_the_packed_context(
    page: Page, seeded: Seeded, acme: Api
) -> None:
    log_in(page, seeded.keys["acme"], "acme")
    page.goto(f"/#/search?{SCOPE}&q=Where+does+Maria+live")
    page.get_by_test_id("filter-budget").fill("120")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("budget-used")).to_be_visible()
    assert "budget=120" in page.url
    found = acme.client.post(
        "/v1/memories/search",
        json={"user_id": USER, "query": "Where does Maria live", "budget": 120},
    ).json()["hits"]
    used = sum(len(hit["context"]) for hit in found)
    assert 0 < used <= 120
    expect(page.get_by_test_id("budget-used")).to_have_text(f"{used} of 120 characters")
    ids = page.get_by_test_id("hit").evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert ids == [hit["id"] for hit in found]
    excerpts = [hit["excerpt"] for hit in found if hit.get("excerpt")]
    assert excerpts  # a hit of which only some sentences fit
    shown = page.get_by_test_id("excerpt").all_inner_texts()
    assert shown == excerpts


def test_a_budget_decides_how_many_hits_unless_a_limit_is_given(
    page: Page, seeded: Seeded, acme: Api
) -> None:
    log_in(page, seeded.keys["acme"], "acme")
    question = "Where does Ada live"
    found = acme.client.post(
        "/v1/memories/search", json={"user_id": USER, "query": question, "budget": 20_000}
    ).json()["hits"]
    assert len(found) > 20  # more than the dashboard shows without a budget
    sent: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: sent.append(r.post_data_json) if r.url.endswith("/memories/search") else None,
    )
    hits = page.get_by_test_id("hit")
    page.goto(f"/#/search?{SCOPE}&q=Where+does+Ada+live&budget=20000")
    expect(hits).to_have_count(len(found))
    assert sent[-1]["budget"] == 20_000 and "limit" not in sent[-1]
    expect(page.get_by_test_id("filter-limit")).to_have_value("")
    page.get_by_test_id("filter-limit").fill("5")
    page.get_by_role("button", name="Search").click()
    expect(hits).to_have_count(5)
    assert "limit=5" in page.url and "budget=20000" in page.url
    assert (sent[-1]["limit"], sent[-1]["budget"]) == (5, 20_000)
    page.goto(f"/#/search?{SCOPE}&q=Where+does+Ada+live")  # no budget: the dashboard's limit
    expect(hits).to_have_count(20)
    assert sent[-1]["limit"] == 20 and "budget" not in sent[-1]


# -- a memory's page ------------------------------------------------------------------------------
def test_a_memory_shows_its_sources_history_links_and_entities(
    page: Page, seeded: Seeded, acme: Api
) -> None:
    log_in(page, seeded.keys["acme"], "acme")
    memory = acme.find("Ada is allergic to peanuts.")
    open_memory(page, memory)
    source = page.get_by_test_id("source")
    expect(source).to_have_count(1)
    expect(source.locator("td").nth(0)).to_have_text("Ada")
    expect(source.locator("td").nth(1)).to_have_text("2026-03-02 09:15")
    expect(source.locator("td").nth(2)).to_contain_text("I'm allergic to peanuts")
    expect(source.locator("td").nth(3)).to_have_text("s1:4")
    added = page.locator("[data-testid=event][data-op=ADD]")
    expect(added).to_have_count(1)
    expect(added).to_contain_text(extract_facts.VERSION)  # the prompt version that wrote it
    expect(added).to_contain_text("2026-03-02 09:35")
    expect(page.get_by_test_id("entities")).to_have_text(re.compile("Ada.*peanuts"))
    links = acme.get(f"/memories/{memory['id']}/links")
    assert links, "the seed links related facts"
    expect(page.get_by_test_id("link")).to_have_count(len(links))
    page.get_by_test_id("link").first.get_by_role("link").click()
    expect(page.get_by_test_id("memory-text")).to_have_text(links[0]["memory"]["text"])


def test_editing_a_memory_writes_version_2_and_shows_the_diff(
    page: Page, seeded: Seeded, acme: Api
) -> None:
    log_in(page, seeded.keys["acme"], "acme")
    memory = acme.find("Ada runs 10 km every Sunday.")
    open_memory(page, memory)
    expect(page.get_by_test_id("edit-form")).to_be_hidden()
    page.get_by_role("button", name="Edit").click()
    page.get_by_test_id("edit-text").fill("Ada runs 12 km every Sunday morning.")
    page.get_by_test_id("reason").fill("she said 12 now")
    page.get_by_role("button", name="Save new version").click()
    expect(page.get_by_test_id("current-version")).to_have_text("version 2")
    expect(page.get_by_test_id("memory-text")).to_have_text("Ada runs 12 km every Sunday morning.")
    expect(page.get_by_test_id("version-row")).to_have_count(2)
    diff = page.get_by_test_id("diff")
    expect(diff.locator("del")).to_have_text(["10"])
    expect(diff.locator("ins")).to_have_text(["12", " morning"])
    updated = page.locator("[data-testid=event][data-op=UPDATE]")
    expect(updated).to_contain_text("she said 12 now")
    page.get_by_test_id("diff-from").select_option(label="v2")  # comparing a version to itself
    expect(diff.locator("del, ins")).to_have_count(0)
    stored = acme.get(f"/memories/{memory['id']}")
    assert (stored["version"], stored["text"]) == (2, "Ada runs 12 km every Sunday morning.")
    assert [v["text"] for v in acme.get(f"/memories/{memory['id']}/versions")] == [
        "Ada runs 10 km every Sunday.",
        "Ada runs 12 km every Sunday morning.",
    ]


def test_an_edit_of_a_stale_page_is_refused(page: Page, seeded: Seeded, acme: Api) -> None:
    log_in(page, seeded.keys["acme"], "acme")
    memory = acme.find(
        "Ada builds a tide-prediction model for the Tagus estuary, due at the end of June 2026."
    )
    open_memory(page, memory)
    acme.client.patch(
        f"/v1/memories/{memory['id']}", params={"user_id": USER}, json={"text": "changed elsewhere"}
    ).raise_for_status()
    page.get_by_role("button", name="Edit").click()
    page.get_by_test_id("edit-text").fill("my change")
    page.get_by_role("button", name="Save new version").click()
    expect(page.get_by_role("alert")).to_contain_text("conflict")
    assert acme.get(f"/memories/{memory['id']}")["text"] == "changed elsewhere"


def test_delete_then_restore(page: Page, seeded: Seeded, acme: Api) -> None:
    log_in(page, seeded.keys["acme"], "acme")
    memory = acme.find("Pixel hides under the sofa all day and purrs at night.")
    open_memory(page, memory)
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_test_id("state")).to_have_text("deleted")
    assert acme.get(f"/memories/{memory['id']}")["state"] == "deleted"
    page.goto(f"/#/search?{SCOPE}&limit=1000")
    expect(page.get_by_test_id("listed").first).to_be_visible()
    assert memory["id"] not in ids(page, "[data-testid=listed]")
    page.goto(f"/#/search?{SCOPE}&limit=1000&state=deleted")
    expect(page.get_by_test_id("listed")).to_have_count(1)
    page.get_by_test_id("listed").get_by_role("link").click()
    page.get_by_test_id("reason").fill("deleted by mistake")
    page.get_by_role("button", name="Restore").click()
    expect(page.get_by_test_id("state")).to_have_text("active")
    ops = page.get_by_test_id("event").evaluate_all("rows => rows.map(r => r.dataset.op)")
    assert ops == ["ADD", "DELETE", "RESTORE"]
    expect(page.locator("[data-testid=event][data-op=RESTORE]")).to_contain_text(
        "deleted by mistake"
    )
    assert acme.get(f"/memories/{memory['id']}")["state"] == "active"


def test_archive(page: Page, seeded: Seeded, acme: Api) -> None:
    log_in(page, seeded.keys["acme"], "acme")
    memory = acme.find("Ada's flat is in Alfama, near the castle.")
    open_memory(page, memory)
    page.get_by_test_id("reason").fill("she moved in; kept for the record")
    page.get_by_role("button", name="Archive").click()
    expect(page.get_by_test_id("state")).to_have_text("archived")
    expect(page.get_by_role("button", name="Archive")).to_have_count(0)
    expect(page.get_by_role("button", name="Restore")).to_be_visible()
    event = page.locator("[data-testid=event][data-op=ARCHIVE]")
    expect(event).to_contain_text("she moved in; kept for the record")
    assert acme.get(f"/memories/{memory['id']}")["state"] == "archived"


# -- timeline and graph ---------------------------------------------------------------------------
def test_the_timeline_plots_event_time_against_record_time(
    page: Page, seeded: Seeded, acme: Api
) -> None:
    log_in(page, seeded.keys["acme"], "acme")
    page.goto(f"/#/timeline?{SCOPE}")
    chart = page.get_by_test_id("timeline-chart")
    expect(chart).to_be_visible()
    active = acme.memories()
    expect(chart.locator("circle.dot")).to_have_count(len(active))
    expect(page.get_by_test_id("timeline-row")).to_have_count(len(active))
    trip = acme.find("Ada and Maria plan a hiking trip to the Azores in September 2026.")
    row = page.locator(f"[data-testid=timeline-row][data-id='{trip['id']}']")
    expect(row).to_contain_text("2026-09-01")  # it happens in September…
    expect(row).to_contain_text("2026-06-09 08:25")  # …and was learnt in June
    expect(row).to_contain_text("ahead")
    chart.locator(f"circle[data-id='{trip['id']}']").click()
    expect(page.get_by_test_id("memory-text")).to_have_text(trip["text"])


def test_the_graph_shows_linked_memories_and_entities(
    page: Page, seeded: Seeded, acme: Api
) -> None:
    log_in(page, seeded.keys["acme"], "acme")
    page.goto(f"/#/graph?{SCOPE}")
    chart = page.get_by_test_id("graph-chart")
    expect(chart).to_be_visible()
    kinds = ["fact", "summary", "thought", "procedure", "working"]
    graph = acme.get("/graph", kind=kinds, limit=200)
    expect(chart.locator(".node")).to_have_count(len(graph["nodes"]))
    expect(chart.locator(".focus")).to_have_count(0)
    expect(chart.locator(".edge")).to_have_count(len(graph["edges"]))
    for name in ("Ada", "Lisbon", "Pixel", "Joana"):
        expect(chart.locator(".node-entity text", has_text=name).first).to_be_visible()
    expect(chart.locator(".edge-relation text", has_text="has pet")).to_have_count(1)
    expect(chart.locator(".edge-link").first).to_be_attached()
    pixel = acme.find("Ada adopted a grey cat called Pixel.")
    chart.locator(f"[data-node='memory:{pixel['id']}']").click()
    expect(page.get_by_test_id("memory-text")).to_have_text(pixel["text"])
    page.get_by_role("link", name="Show in the graph →").click()
    expect(page.locator(f"[data-node='memory:{pixel['id']}'].focus")).to_have_count(1)
    page.get_by_test_id("graph-episodes").check()
    with_episodes = acme.get("/graph", limit=200)
    expect(page.get_by_test_id("graph-chart").locator(".node")).to_have_count(
        len(with_episodes["nodes"])
    )


# -- tenants --------------------------------------------------------------------------------------
def test_a_tenant_cannot_see_another_tenants_memories(
    page: Page, seeded: Seeded, acme: Api, globex: Api
) -> None:
    theirs = acme.find("Ada is allergic to peanuts.")
    log_in(page, seeded.keys["globex"], "globex")
    expect(page.get_by_test_id("scope-row").locator("td").nth(3)).to_have_text(str(len(GLOBEX)))
    page.goto(f"/#/search?{SCOPE}&limit=1000&state=any")
    expect(page.get_by_test_id("listed")).to_have_count(len(GLOBEX))
    own = {m["id"] for m in globex.memories()}
    assert ids(page, "[data-testid=listed]") == own
    page.goto(f"/#/search?{SCOPE}&q=peanuts+Lisbon+Alfama+Pixel&state=any")
    expect(
        page.get_by_test_id("hits").or_(page.get_by_text("Nothing in this scope"))
    ).to_be_visible()
    assert ids(page, "[data-testid=hit]") <= own
    page.goto(f"/#/memory/{theirs['id']}?{SCOPE}")  # by direct link: as if it never existed
    expect(page.get_by_role("alert")).to_contain_text("not_found")
    expect(page.get_by_text("allergic")).to_have_count(0)
    page.goto(f"/#/timeline?{SCOPE}")
    expect(page.get_by_test_id("timeline-row")).to_have_count(len(GLOBEX))
    page.goto(f"/#/graph?{SCOPE}&episodes=1")
    expect(page.locator(".node-entity text", has_text="Lisbon")).to_have_count(0)
    expect(page.locator(".node-entity text", has_text="Globex").first).to_be_visible()
    # and the other way round
    page.get_by_role("button", name="Log out").click()
    log_in(page, seeded.keys["acme"], "acme")
    secret = globex.find(GLOBEX[0]["text"])
    page.goto(f"/#/memory/{secret['id']}?{SCOPE}")
    expect(page.get_by_role("alert")).to_contain_text("not_found")
    page.goto(f"/#/search?{SCOPE}&q=launch+code+tangerine&state=any")
    expect(
        page.get_by_test_id("hits").or_(page.get_by_text("Nothing in this scope"))
    ).to_be_visible()
    assert secret["id"] not in ids(page, "[data-testid=hit]")
    expect(page.get_by_text("tangerine")).to_have_count(0)


# -- the page itself ------------------------------------------------------------------------------
def test_the_dashboard_loads_nothing_from_anywhere_else(
    page: Page, seeded: Seeded, server: str
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    response = page.goto("/")
    assert response is not None
    assert "default-src 'self'" in response.headers["content-security-policy"]
    log_in(page, seeded.keys["acme"], "acme")
    for view in ("scopes", f"search?{SCOPE}&q=Lisbon", f"timeline?{SCOPE}", f"graph?{SCOPE}"):
        page.goto(f"/#/{view}")
        expect(page.locator(".content table, .content svg").first).to_be_visible()
    assert requested and all(url.startswith(server + "/") for url in requested), requested


def test_the_word_diff(page: Page, server: str) -> None:
    page.goto("/ui/index.html")
    diff = """async ([a, b]) => (await import("/ui/diff.js")).diffWords(a, b)
        .map(op => op.type === "same" ? op.text : `${op.type === "del" ? "-" : "+"}[${op.text}]`)
        .join("")"""
    cases = {
        (
            "I moved to Lisbon.",
            "I moved to Porto in June.",
        ): "I moved to -[Lisbon]+[Porto in June].",
        ("same text", "same text"): "same text",
        ("", "new"): "+[new]",
        ("old words here", ""): "-[old words here]",
        ("a b c d", "a c d e"): "a -[b ]c d+[ e]",
    }
    for (before, after), expected in cases.items():
        assert page.evaluate(diff, [before, after]) == expected, (before, after)


def test_the_people_page_shows_speakers_and_their_sourced_profile(
    page: Page, seeded: Seeded, acme: Api
) -> None:
    log_in(page, seeded.keys["acme"], "acme")
    page.goto(f"/#/people?{SCOPE}")
    expect(page.locator("[data-testid=person][data-name=Ada]")).to_have_count(1)
    allergy = page.locator("[data-testid=trait][data-attribute=allergy]")
    expect(allergy).to_contain_text("peanuts")
    expect(allergy).to_contain_text("s1:4")  # the message that says it
    expect(page.locator("[data-testid=trait][data-attribute='family:sister']")).to_contain_text(
        "Maria"
    )
    profile = acme.client.get("/v1/profile", params={"user_id": USER, "budget": 2000}).json()
    expect(page.get_by_test_id("profile-text")).to_have_text(profile["text"])
