// Search: a question and filters (kind, state, layer, event-time range, and a `where`
// expression from the filter builder). Each hit shows its
// score and the signals that found it, at what rank. With a budget, the hits are what fits in
// that many characters (capped only by a limit the person gives), and a hit may show only the
// sentences that answer (its excerpt). Without a question: browse, newest first.

import { get, post } from "../api.js";
import { badge, card, clip, empty, h, link, table, when } from "../dom.js";
import { builder, expression } from "./where.js";

export const KINDS = ["episode", "fact", "summary", "thought", "procedure", "working"];
export const STATES = ["active", "archived", "deleted"];
const LAYERS = ["short", "mid", "long"];
/** How many hits or memories a view shows when no limit is given (and, for a search, no budget). */
const LIMIT = 20;

function select(name, label, options, value, anyLabel) {
  const choices = [anyLabel ? h("option", { value: "" }, anyLabel) : null];
  for (const option of options) {
    choices.push(h("option", { value: option, selected: option === value }, option));
  }
  return h(
    "label",
    { class: "field" },
    h("span", null, label),
    h("select", { name, "data-testid": `filter-${name}` }, choices),
  );
}

function input(name, label, type, value, attrs = {}) {
  return h(
    "label",
    { class: `field field-${name}` },
    h("span", null, label),
    h("input", { name, type, value: value || "", "data-testid": `filter-${name}`, ...attrs }),
  );
}

/** The filters of the URL, as the API takes them. */
function filters(params) {
  const state = params.get("state") || "active";
  return {
    kinds: params.get("kind") ? [params.get("kind")] : null,
    states: state === "any" ? STATES : [state],
    layers: params.get("layer") ? [params.get("layer")] : null,
    since: params.get("since") ? `${params.get("since")}T00:00:00Z` : null,
    until: params.get("until") ? `${params.get("until")}T23:59:59Z` : null,
    where: params.get("where") ? JSON.parse(params.get("where")) : null,
  };
}

function form(params, scope) {
  const onsubmit = (event) => {
    event.preventDefault();
    const data = new FormData(event.target);
    const next = { ...scope };
    for (const [name, value] of data.entries()) {
      if (value && !["wfield", "wop", "wvalue"].includes(name)) next[name] = value;
    }
    const where = expression(data);
    if (where) next.where = JSON.stringify(where);
    if (next.state === "active") delete next.state;
    location.hash = link("search", next);
  };
  return h(
    "form",
    { class: "card search-form", onsubmit, "data-testid": "search-form" },
    h(
      "div",
      { class: "search-row" },
      h("input", {
        name: "q",
        type: "search",
        class: "query",
        placeholder: "Ask in plain words, e.g. where does Ada live?",
        value: params.get("q") || "",
        "aria-label": "Search",
        "data-testid": "query",
      }),
      h("button", { type: "submit", class: "primary" }, "Search"),
    ),
    h(
      "div",
      { class: "filters" },
      select("kind", "Kind", KINDS, params.get("kind"), "any kind"),
      select("state", "State", [...STATES, "any"], params.get("state") || "active"),
      select("layer", "Layer", LAYERS, params.get("layer"), "any layer"),
      input("since", "Event time from", "date", params.get("since")),
      input("until", "until", "date", params.get("until")),
      input("limit", "Limit", "number", params.get("limit"), {
        min: 1,
        max: 1000,
        placeholder: params.get("budget") ? "what fits" : String(LIMIT),
        title: `How many hits at most (default ${LIMIT}; with a budget, as many as fit)`,
      }),
      input("budget", "Budget (characters)", "number", params.get("budget"), {
        min: 1,
        placeholder: "none",
      }),
    ),
    builder(params.get("where")),
  );
}

function signals(hit) {
  const entries = Object.entries(hit.signals || {}).sort((a, b) => a[1].rank - b[1].rank);
  return h(
    "div",
    { class: "signals" },
    entries.map(([name, signal]) =>
      h(
        "span",
        { class: "signal", title: `score ${signal.score.toFixed(4)}`, "data-signal": name },
        `${name} #${signal.rank}`,
      ),
    ),
  );
}

function memoryCell(record, scope, excerpt) {
  return h(
    "td",
    { class: "text-cell" },
    h("a", { href: link(`memory/${encodeURIComponent(record.id)}`, scope) }, clip(record.text, 160)),
    excerpt ? h("div", { class: "excerpt", "data-testid": "excerpt" }, excerpt) : null,
    record.actor ? h("div", { class: "muted small" }, `said by ${record.actor}`) : null,
  );
}

async function searchResults(query, params, scope) {
  const budget = params.get("budget") ? Number(params.get("budget")) : null;
  const body = { query, ...filters(params), ...scope };
  if (budget) body.budget = budget;
  // With a budget, the budget decides how many hits fit, unless the person gives a limit too.
  if (params.get("limit") || !budget) body.limit = Number(params.get("limit") || LIMIT);
  const result = await post("/memories/search", body);
  if (!result.hits.length) return card("No hits", empty("Nothing in this scope answers that."));
  const used = result.hits.reduce((sum, hit) => sum + hit.context.length, 0);
  const rows = result.hits.map((hit, i) =>
    h(
      "tr",
      { "data-testid": "hit", "data-id": hit.id },
      h("td", { class: "num" }, i + 1),
      h("td", { class: "num score", "data-testid": "score" }, hit.score.toFixed(3)),
      memoryCell(hit, scope, hit.excerpt),
      h("td", null, badge(hit.kind)),
      h("td", null, badge(hit.state)),
      h("td", { class: "nowrap" }, when(hit.valid_from)),
      h("td", { class: "signals-cell" }, signals(hit)),
    ),
  );
  return card(
    `${result.hits.length} hits`,
    h(
      "p",
      { class: "muted small" },
      `search ${result.search_id}`,
      budget ? " · context: " : null,
      budget ? h("span", { "data-testid": "budget-used" }, `${used} of ${budget} characters`) : null,
    ),
    table(["#", "Score", "Memory", "Kind", "State", "Event time", "Found by"], rows, {
      class: "data",
      "data-testid": "hits",
    }),
  );
}

async function browse(params, scope) {
  const limit = Number(params.get("limit") || LIMIT);
  const { kinds, states, layers, since, until, where } = filters(params);
  const query = { ...scope, limit, kind: kinds, state: states, layer: layers, since, until };
  if (where) query.where = JSON.stringify(where);
  const page = await get("/memories", query);
  if (!page.memories.length) return card("No memories", empty("No memory matches these filters."));
  const row = (record) =>
    h(
      "tr",
      { "data-testid": "listed", "data-id": record.id },
      memoryCell(record, scope),
      h("td", null, badge(record.kind)),
      h("td", null, badge(record.state)),
      h("td", { class: "nowrap" }, when(record.valid_from)),
      h("td", { class: "nowrap" }, when(record.recorded_at)),
      h("td", { class: "num" }, `v${record.version}`),
    );
  const body = table(
    ["Memory", "Kind", "State", "Event time", "Recorded", "Version"],
    page.memories.map(row),
    { class: "data", "data-testid": "listing" },
  );
  let cursor = page.next_cursor;
  const more = h("button", {
    class: "secondary",
    hidden: !cursor,
    onclick: async () => {
      const next = await get("/memories", { ...query, cursor });
      body.tBodies[0].append(...next.memories.map(row));
      cursor = next.next_cursor;
      more.hidden = !cursor;
    },
  }, "More");
  return card("Memories, newest first", body, more);
}

export async function searchView({ params, scope }) {
  const query = (params.get("q") || "").trim();
  const results = query ? await searchResults(query, params, scope) : await browse(params, scope);
  return h("div", null, form(params, scope), results);
}
