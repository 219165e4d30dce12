// People: who speaks in a scope, under which names, and what each said about themselves
// (their profile: current traits with their sources and dates, and what held before).

import { get } from "../api.js";
import { card, day, empty, h, table } from "../dom.js";

function sources(ids) {
  return h("span", { class: "muted" }, ids.join(", "));
}

function traitRows(traits, testid) {
  return traits.map((t) =>
    h(
      "tr",
      { "data-testid": testid, "data-attribute": t.attribute },
      h("td", null, t.attribute.replace(":", " · ")),
      h("td", null, t.value),
      h("td", null, day(t.since)),
      h("td", null, t.until ? day(t.until) : "–"),
      h("td", null, sources(t.sources)),
    ),
  );
}

function profileCard(profile) {
  const headers = ["Trait", "Value", "Since", "Until", "Said in"];
  return card(
    profile.names.join(" · "),
    profile.traits.length
      ? table(headers, traitRows(profile.traits, "trait"), { class: "data" })
      : empty("Nothing this person said about themselves yet."),
    profile.history.length
      ? h(
          "details",
          null,
          h("summary", null, `What held before (${profile.history.length})`),
          table(headers, traitRows(profile.history, "past-trait"), { class: "data" }),
        )
      : null,
  );
}

export async function peopleView({ scope }) {
  const [people, profiles] = await Promise.all([
    get("/people", scope),
    get("/profile", { ...scope, budget: 2000 }),
  ]);
  if (!people.length && !profiles.profiles.length) {
    return card("No people yet", empty("No message of this scope names its speaker."));
  }
  const rows = people.map((p) =>
    h(
      "tr",
      { "data-testid": "person", "data-name": p.name },
      h("td", null, h("strong", null, p.name)),
      h(
        "td",
        null,
        p.aliases.length
          ? p.aliases.map((a) => h("span", { class: "alias", title: `said in ${a.sources.join(", ")}` },
              `${a.name} (${a.count}×)`))
          : h("span", { class: "muted" }, "–"),
      ),
      h("td", { class: "num" }, p.messages),
    ),
  );
  return h(
    "div",
    null,
    card(
      "People",
      h(
        "p",
        { class: "muted" },
        "The speakers of this scope, with the names the others call them by.",
      ),
      table(["Speaker", "Also called", "Messages"], rows, { class: "data", "data-testid": "people" }),
    ),
    profiles.profiles.filter((p) => p.traits.length || p.history.length).map(profileCard),
    card("As an agent reads it", h("pre", { "data-testid": "profile-text" }, profiles.text)),
  );
}
