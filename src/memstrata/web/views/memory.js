// One memory: its text, where it came from (the source messages), its versions with a diff,
// its history, its links and entities; and the actions edit, archive, delete and restore, each
// one REST call, so the same rules (tenant, scope, versions) apply as for any client.

import { api, get } from "../api.js";
import { renderDiff } from "../diff.js";
import { badge, card, clip, empty, h, link, scopeLabel, table, when } from "../dom.js";

let flash = null; // a message to show once after an action re-renders the page

const memoryLink = (id, scope) => link(`memory/${encodeURIComponent(id)}`, scope);

const none = () => h("span", { class: "muted" }, "–");

function detail(label, value) {
  return [h("dt", null, label), h("dd", null, value ?? none())];
}

function details(m, scope) {
  const event = m.valid_to ? `${when(m.valid_from)} → ${when(m.valid_to)}` : when(m.valid_from);
  const recalled = m.recall_count ? `${m.recall_count}× (last ${when(m.last_recalled)})` : "never";
  return h(
    "dl",
    { class: "details" },
    detail("Event time", event),
    detail("Recorded", when(m.recorded_at)),
    detail("Said by", m.actor),
    detail("About", m.subject),
    detail("Importance", m.importance.toFixed(2)),
    detail("Strength", m.strength.toFixed(2)),
    detail("Recalled", recalled),
    detail("Layer", m.layer),
    detail("Scope", scopeLabel(m)),
    detail("Keys", m.keys.length ? m.keys.join(", ") : null),
    detail(
      "Supersedes",
      m.supersedes
        ? h("a", { href: memoryLink(m.supersedes, scope) }, m.supersedes)
        : null,
    ),
    detail("Id", h("code", null, m.id)),
  );
}

function actions(m, scope, refresh, showError) {
  const reason = h("input", {
    name: "reason",
    type: "text",
    placeholder: "Why? (kept in history)",
    "data-testid": "reason",
  });
  const path = `/memories/${encodeURIComponent(m.id)}`;
  const run = async (label, method, tail, body) => {
    try {
      const query = { ...scope };
      if (reason.value && body === undefined) query.reason = reason.value;
      const changed = await api(method, `${path}${tail}`, { query, body });
      flash = `${label}: now version ${changed.version}, ${changed.state}.`;
      refresh();
    } catch (error) {
      showError(error);
    }
  };
  const editor = h("textarea", { name: "text", rows: 4, "data-testid": "edit-text" });
  const cancel = () => {
    editForm.hidden = true;
  };
  const editForm = h(
    "form",
    {
      class: "edit-form",
      hidden: true,
      "data-testid": "edit-form",
      onsubmit: (event) => {
        event.preventDefault();
        const body = { text: editor.value, expected_version: m.version };
        if (reason.value) body.reason = reason.value;
        run("Saved", "PATCH", "", body);
      },
    },
    h("label", { class: "field" }, h("span", null, "New text (a new version is written)"), editor),
    h(
      "div",
      { class: "row" },
      h("button", { type: "submit", class: "primary" }, "Save new version"),
      h("button", { type: "button", class: "secondary", onclick: cancel }, "Cancel"),
    ),
  );
  const button = (label, onclick, style = "secondary") =>
    h("button", { type: "button", class: style, onclick }, label);
  const buttons = [
    button("Edit", () => {
      editor.value = m.text;
      editForm.hidden = false;
      editor.focus();
    }),
  ];
  if (m.state === "active") buttons.push(button("Archive", () => run("Archived", "POST", "/archive")));
  if (m.state !== "deleted") {
    buttons.push(button("Delete", () => run("Deleted", "DELETE", ""), "danger"));
  }
  if (m.state !== "active") buttons.push(button("Restore", () => run("Restored", "POST", "/restore")));
  return h("div", { class: "actions-bar" }, h("div", { class: "row" }, buttons, reason), editForm);
}

function sourcesCard(sources) {
  const rows = sources.map((message) =>
    h(
      "tr",
      { "data-testid": "source" },
      h("td", { class: "speaker" }, message.speaker || message.role),
      h("td", { class: "nowrap" }, when(message.timestamp)),
      h("td", { class: "text-cell" }, message.text),
      h("td", null, h("code", null, message.id || "–")),
    ),
  );
  return card(
    "Sources",
    h("p", { class: "muted" }, "The original messages this memory came from."),
    rows.length
      ? table(["Speaker", "Said at", "Message", "Message id"], rows, {
          class: "data",
          "data-testid": "sources",
        })
      : empty("No source messages."),
  );
}

function versionsCard(versions) {
  const rows = versions.map((v) =>
    h(
      "tr",
      { "data-testid": "version-row" },
      h("td", { class: "num" }, `v${v.version}`),
      h("td", { class: "nowrap" }, when(v.recorded_at)),
      h("td", { class: "nowrap" }, v.expired_at ? when(v.expired_at) : "current"),
      h("td", null, badge(v.state)),
      h("td", { class: "text-cell" }, clip(v.text, 140)),
    ),
  );
  const parts = [table(["Version", "Recorded", "Until", "State", "Text"], rows, {
    class: "data",
    "data-testid": "versions",
  })];
  if (versions.length > 1) {
    const choice = (name, selected) =>
      h(
        "select",
        { name, "data-testid": `diff-${name}` },
        versions.map((v, i) => h("option", { value: i, selected: i === selected }, `v${v.version}`)),
      );
    const from = choice("from", versions.length - 2);
    const to = choice("to", versions.length - 1);
    const out = h("div", { "data-testid": "diff" });
    const show = () => {
      out.replaceChildren(renderDiff(versions[from.value].text, versions[to.value].text));
    };
    from.addEventListener("change", show);
    to.addEventListener("change", show);
    show();
    parts.push(
      h("h3", null, "Difference"),
      h("div", { class: "row" }, "from ", from, " to ", to),
      out,
    );
  }
  return card("Versions", parts);
}

function historyCard(events) {
  const rows = events.map((e) =>
    h(
      "tr",
      { "data-testid": "event", "data-op": e.op },
      h("td", { class: "nowrap" }, when(e.at)),
      h("td", null, badge(e.op, "op")),
      h("td", { class: "num" }, `v${e.version}`),
      h("td", null, e.reason || none()),
      h("td", null, e.prompt_version ? h("code", null, e.prompt_version) : none()),
      h(
        "td",
        { class: "text-cell" },
        e.previous_text && e.text && e.previous_text !== e.text
          ? renderDiff(e.previous_text, e.text)
          : e.state
            ? `state: ${e.state}`
            : "",
      ),
    ),
  );
  return card(
    "History",
    h("p", { class: "muted" }, "Every change, oldest first: what, when, why, which prompt version."),
    table(["When", "Change", "Version", "Why", "Prompt version", "What changed"], rows, {
      class: "data",
      "data-testid": "history",
    }),
  );
}

function linksCard(links, m, scope) {
  const rows = links.map((x) =>
    h(
      "tr",
      { "data-testid": "link" },
      h("td", null, badge(x.kind, "link")),
      h("td", null, x.direction === "out" ? "this → other" : "other → this"),
      h("td", { class: "num" }, x.score.toFixed(2)),
      h(
        "td",
        { class: "text-cell" },
        h("a", { href: memoryLink(x.memory.id, scope) }, clip(x.memory.text, 140)),
      ),
    ),
  );
  const relations = Array.isArray(m.metadata.relations) ? m.metadata.relations : [];
  return card(
    "Links and entities",
    h(
      "div",
      { class: "chips", "data-testid": "entities" },
      m.entities.length
        ? m.entities.map((name) => h("span", { class: "chip entity" }, name))
        : h("span", { class: "muted" }, "Names no entity."),
    ),
    relations.length
      ? h(
          "ul",
          { class: "relations" },
          relations.map((r) =>
            h(
              "li",
              null,
              h("b", null, r[0]),
              ` —${String(r[1]).replace(/_/g, " ")}→ `,
              h("b", null, r[2]),
            ),
          ),
        )
      : null,
    rows.length
      ? table(["Link", "Direction", "Score", "Memory"], rows, { class: "data", "data-testid": "links" })
      : empty("No links to other memories."),
    h("p", null, h("a", { href: link("graph", { ...scope, focus: m.id }) }, "Show in the graph →")),
  );
}

export async function memoryView({ arg, scope, refresh, error }) {
  const path = `/memories/${encodeURIComponent(arg)}`;
  const [m, versions, history, sources, links] = await Promise.all([
    get(path, scope),
    get(`${path}/versions`, scope),
    get(`${path}/history`, scope),
    get(`${path}/sources`, scope),
    get(`${path}/links`, scope),
  ]);
  const problems = h("div");
  const showError = (e) => problems.replaceChildren(error(e));
  const note = flash ? h("div", { class: "flash", role: "status" }, flash) : null;
  flash = null;
  return h(
    "div",
    { class: "memory", "data-testid": "memory", "data-id": m.id },
    note,
    problems,
    h(
      "section",
      { class: "card hero" },
      h(
        "div",
        { class: "row" },
        badge(m.kind),
        h("span", { "data-testid": "state" }, badge(m.state)),
        h("span", { class: "version", "data-testid": "current-version" }, `version ${m.version}`),
      ),
      h("p", { class: "memory-text", "data-testid": "memory-text" }, m.text),
      actions(m, scope, refresh, showError),
      details(m, scope),
    ),
    sourcesCard(sources),
    versionsCard(versions),
    historyCard(history),
    linksCard(links, m, scope),
  );
}
