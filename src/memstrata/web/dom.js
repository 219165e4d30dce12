// Building the page: h() makes elements, text always goes in as text (never as HTML), and a few
// formatters shared by the views.

const SVG_NS = "http://www.w3.org/2000/svg";

function build(el, attrs, children) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "dataset") {
      Object.assign(el.dataset, value);
    } else if (name === "value" && "value" in el) {
      el.value = value;
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** An HTML element: h("a", {href: "#/", class: "x"}, "text", otherNode, [more]). */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** An SVG element, the same way. */
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

/** "2026-03-02 09:15" in UTC (the store's times are UTC), or "–". */
export function when(iso) {
  if (!iso) return "–";
  return iso.slice(0, 16).replace("T", " ");
}

export function day(iso) {
  return iso ? iso.slice(0, 10) : "–";
}

export function badge(text, kind = text) {
  return h("span", { class: `badge badge-${kind}` }, text);
}

export function clip(text, length = 90) {
  const flat = String(text).replace(/\s+/g, " ").trim();
  return flat.length <= length ? flat : `${flat.slice(0, length - 1)}…`;
}

/** The scope fields of URL parameters: {user_id, agent_id, run_id}, only those given. */
export function scopeOf(params) {
  const scope = {};
  for (const name of ["user_id", "agent_id", "run_id"]) {
    const value = params.get(name);
    if (value) scope[name] = value;
  }
  return scope;
}

export function scopeLabel(scope) {
  const parts = [];
  if (scope.user_id) parts.push(`user ${scope.user_id}`);
  if (scope.agent_id) parts.push(`agent ${scope.agent_id}`);
  if (scope.run_id) parts.push(`run ${scope.run_id}`);
  return parts.join(" · ");
}

/** A dashboard link: link("memory/ID", {user_id: "ada"}) is "#/memory/ID?user_id=ada". */
export function link(path, params = {}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") query.set(name, value);
  }
  const tail = query.toString();
  return `#/${path}${tail ? `?${tail}` : ""}`;
}

export function table(headers, rows, attrs = {}) {
  return h(
    "table",
    attrs,
    h("thead", null, h("tr", null, headers.map((x) => h("th", null, x)))),
    h("tbody", null, rows),
  );
}

export function card(title, ...children) {
  return h("section", { class: "card" }, title ? h("h2", null, title) : null, children);
}

export function empty(text) {
  return h("p", { class: "empty" }, text);
}
