// Scopes: the users, agents and runs of this tenant, with how many memories each holds.

import { get } from "../api.js";
import { card, empty, h, link, table, when } from "../dom.js";

function scopeParams(row) {
  const scope = {};
  for (const name of ["user_id", "agent_id", "run_id"]) if (row[name]) scope[name] = row[name];
  return scope;
}

function stat(label, value) {
  return h("div", { class: "stat" }, h("div", { class: "stat-value" }, value), h("div", null, label));
}

export async function scopesView() {
  const scopes = await get("/scopes");
  if (!scopes.length) {
    return card(
      "No memories yet",
      empty("This tenant has no memories. Add some with the API, the library or `memstrata add`."),
    );
  }
  const distinct = (name) => new Set(scopes.map((s) => s[name]).filter(Boolean)).size;
  const total = scopes.reduce((sum, s) => sum + s.memories, 0);
  const active = scopes.reduce((sum, s) => sum + s.active, 0);
  const rows = scopes.map((row) => {
    const scope = scopeParams(row);
    const id = (value) => (value ? h("code", null, value) : h("span", { class: "muted" }, "–"));
    return h(
      "tr",
      { "data-testid": "scope-row" },
      h("td", null, id(row.user_id)),
      h("td", null, id(row.agent_id)),
      h("td", null, id(row.run_id)),
      h("td", { class: "num" }, row.memories),
      h("td", { class: "num" }, row.active),
      h("td", { class: "num" }, row.memories - row.active),
      h("td", null, when(row.last_recorded)),
      h(
        "td",
        { class: "actions" },
        h("a", { href: link("search", scope) }, "Search"),
        h("a", { href: link("timeline", scope) }, "Timeline"),
        h("a", { href: link("graph", scope) }, "Graph"),
        h("a", { href: link("people", scope) }, "People"),
      ),
    );
  });
  return h(
    "div",
    null,
    h(
      "div",
      { class: "stats" },
      stat("users", distinct("user_id")),
      stat("agents", distinct("agent_id")),
      stat("runs", distinct("run_id")),
      stat("memories", total),
      stat("active", active),
    ),
    card(
      "Scopes",
      h(
        "p",
        { class: "muted" },
        "Each row is one combination of user, agent and run that holds memories.",
      ),
      table(
        ["User", "Agent", "Run", "Memories", "Active", "Archived or deleted", "Last recorded", ""],
        rows,
        { class: "data", "data-testid": "scopes" },
      ),
    ),
  );
}
