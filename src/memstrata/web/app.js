// The dashboard shell: log-in, the sidebar, and a router over the URL's hash
// (#/search?user_id=ada&q=lisbon), so every view has a link and the back button works.

import { ApiError, api, forgetKey, get, saveKey, savedKey } from "./api.js";
import { h, link, scopeLabel, scopeOf } from "./dom.js";
import { graphView } from "./views/graph.js";
import { memoryView } from "./views/memory.js";
import { peopleView } from "./views/people.js";
import { scopesView } from "./views/scopes.js";
import { searchView } from "./views/search.js";
import { timelineView } from "./views/timeline.js";

const VIEWS = {
  scopes: { title: "Scopes", render: scopesView },
  search: { title: "Search", render: searchView, scoped: true },
  timeline: { title: "Timeline", render: timelineView, scoped: true },
  graph: { title: "Graph", render: graphView, scoped: true },
  people: { title: "People", render: peopleView, scoped: true },
  memory: { title: "Memory", render: memoryView, scoped: true, hidden: true },
};

const root = document.getElementById("app");
let who = null; // {tenant, authenticated} once logged in
let rendering = 0;

function route() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = hash.split("?", 2);
  const [name, ...rest] = path.split("/").filter(Boolean);
  return {
    name: VIEWS[name] ? name : "scopes",
    arg: rest.map(decodeURIComponent).join("/"),
    params: new URLSearchParams(query),
  };
}

function logout() {
  forgetKey();
  who = null;
  start();
}

function sidebar(current, scope) {
  const items = Object.entries(VIEWS)
    .filter(([, view]) => !view.hidden)
    .map(([name, view]) =>
      h(
        "a",
        {
          href: link(name, view.scoped ? scope : {}),
          class: name === current ? "active" : null,
          "data-view": name,
        },
        view.title,
      ),
    );
  return h(
    "nav",
    { class: "sidebar" },
    h("a", { class: "brand", href: "#/" }, h("span", { class: "logo" }, "◆"), "memstrata"),
    h("div", { class: "nav-items" }, items),
    h(
      "div",
      { class: "who" },
      h("div", { class: "muted" }, who.authenticated ? "Tenant" : "Open server (no API keys)"),
      h("div", { class: "tenant", "data-testid": "tenant" }, who.tenant),
      who.authenticated ? h("button", { class: "link", onclick: logout }, "Log out") : null,
    ),
  );
}

function scopePicker(name) {
  return h(
    "div",
    { class: "card" },
    h("h2", null, "Choose a scope"),
    h(
      "p",
      null,
      "Every memory belongs to a user, an agent and/or a run. Pick one on the ",
      h("a", { href: "#/scopes" }, "Scopes"),
      ` page to open its ${VIEWS[name].title.toLowerCase()}.`,
    ),
  );
}

function errorBox(error) {
  const text = error instanceof ApiError ? `${error.message} (${error.code})` : String(error);
  return h("div", { class: "error", role: "alert" }, text);
}

async function render() {
  if (!who) return;
  const ticket = ++rendering;
  const { name, arg, params } = route();
  const view = VIEWS[name];
  const scope = scopeOf(params);
  const main = h("main", { class: "main" });
  const header = h(
    "header",
    { class: "topbar" },
    h("h1", null, view.title),
    Object.keys(scope).length
      ? h("span", { class: "scope-chip", "data-testid": "scope" }, scopeLabel(scope))
      : null,
  );
  const body = h("div", { class: "content" }, h("p", { class: "muted" }, "Loading…"));
  main.append(header, body);
  root.replaceChildren(h("div", { class: "layout" }, sidebar(name, scope), main));
  document.title = `${view.title} · memstrata`;
  let content;
  try {
    if (view.scoped && !Object.keys(scope).length) content = scopePicker(name);
    else content = await view.render({ arg, params, scope, refresh: render, error: errorBox });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    content = errorBox(error);
  }
  if (ticket === rendering) body.replaceChildren(content);
}

function loginForm(message) {
  const input = h("input", {
    type: "password",
    name: "api_key",
    id: "api-key",
    placeholder: "ms_…",
    autocomplete: "off",
    required: true,
  });
  const note = h("p", { class: "error", role: "alert", hidden: !message }, message || "");
  const form = h(
    "form",
    {
      class: "login card",
      onsubmit: async (event) => {
        event.preventDefault();
        const key = input.value.trim();
        try {
          who = await api("GET", "/whoami", { key });
        } catch (error) {
          who = null;
          note.hidden = false;
          note.textContent =
            error.status === 401 ? "That key was refused: check it, or create one." : error.message;
          return;
        }
        saveKey(key);
        render();
      },
    },
    h("div", { class: "brand" }, h("span", { class: "logo" }, "◆"), "memstrata"),
    h("p", null, "See what your agents remember, why, and since when."),
    h("label", { for: "api-key" }, "API key"),
    input,
    h("button", { type: "submit", class: "primary" }, "Log in"),
    note,
    h(
      "p",
      { class: "muted small" },
      "Create a key with ",
      h("code", null, "memstrata keys create --tenant NAME"),
      ". It is kept in this tab only.",
    ),
  );
  root.replaceChildren(h("div", { class: "login-page" }, form));
  input.focus();
}

async function start() {
  const key = savedKey();
  try {
    who = await get("/whoami");
  } catch (error) {
    who = null;
    if (error.status === 401) {
      forgetKey();
      loginForm(key ? "Your key is no longer accepted; log in again." : null);
    } else {
      root.replaceChildren(h("div", { class: "login-page" }, errorBox(error)));
    }
    return;
  }
  render();
}

window.addEventListener("hashchange", render);
window.addEventListener("memstrata:unauthorized", () => {
  if (who) logout();
});
start();
