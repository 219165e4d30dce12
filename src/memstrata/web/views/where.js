// The filter builder: rows of field, operator and value, joined with "and", written as one
// `where` expression (docs/filters.md) in the page's URL and sent as the listing's `where`
// query parameter (or a search's `where`). The server checks the expression and says what is
// wrong with it.

import { h } from "../dom.js";

/** Fields a person picks from; any `metadata.<key>` can be typed too. */
export const FIELDS = [
  "metadata.", "kind", "state", "layer", "text", "actor", "subject", "importance", "strength",
  "recall_count", "version", "valid_from", "valid_to", "recorded_at", "expires_at", "keys",
  "entities", "sources",
];
/** Operators as the page names them, with the expression's name of each. */
export const OPERATORS = [
  ["=", "eq"], ["≠", "ne"], ["in", "in"], ["not in", "not_in"], ["<", "lt"], ["≤", "lte"],
  [">", "gt"], ["≥", "gte"], ["contains", "contains"], ["exists", "exists"],
];

/** A value as typed: a JSON number, true or false as such, anything else as text. */
function scalar(text) {
  const trimmed = text.trim();
  if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(trimmed)) return Number(trimmed);
  if (trimmed === "true" || trimmed === "false") return trimmed === "true";
  return text;
}

/** One row as a comparison, or null when its field is empty. */
function comparison(field, op, value) {
  if (!field || field === "metadata.") return null;
  let operand;
  if (op === "in" || op === "not_in") operand = value.split(",").map((v) => scalar(v.trim()));
  else if (op === "exists") operand = value.trim() !== "false";
  else operand = scalar(value);
  return { [field]: { [op]: operand } };
}

/** The expression of the builder's rows (FormData entries `wfield`, `wop`, `wvalue`), or null. */
export function expression(data) {
  const fields = data.getAll("wfield");
  const ops = data.getAll("wop");
  const values = data.getAll("wvalue");
  const parts = fields
    .map((field, i) => comparison(field.trim(), ops[i], values[i] || ""))
    .filter(Boolean);
  if (!parts.length) return null;
  return parts.length === 1 ? parts[0] : { and: parts };
}

/** The rows an expression the builder wrote reads back as. */
function rowsOf(text) {
  let expr;
  try {
    expr = JSON.parse(text);
  } catch {
    return [];
  }
  const parts = expr && Array.isArray(expr.and) ? expr.and : [expr];
  const rows = [];
  for (const part of parts) {
    if (!part || typeof part !== "object") continue;
    for (const [field, spec] of Object.entries(part)) {
      const [op, value] = spec && typeof spec === "object" && !Array.isArray(spec)
        ? Object.entries(spec)[0] || ["eq", ""]
        : ["eq", spec];
      rows.push({ field, op, value: Array.isArray(value) ? value.join(", ") : String(value) });
    }
  }
  return rows;
}

function row({ field = "", op = "eq", value = "" } = {}) {
  const remove = (event) => {
    const rows = event.target.closest(".where-rows");
    event.target.closest(".where-row").remove();
    if (!rows.children.length) rows.append(row());
  };
  return h(
    "div",
    { class: "where-row", "data-testid": "where-row" },
    h("input", {
      name: "wfield", list: "where-fields", value: field, placeholder: "field, e.g. metadata.topic",
      "aria-label": "Field", "data-testid": "where-field",
    }),
    h(
      "select",
      { name: "wop", "aria-label": "Operator", "data-testid": "where-op" },
      OPERATORS.map(([label, name]) => h("option", { value: name, selected: name === op }, label)),
    ),
    h("input", {
      name: "wvalue", value, placeholder: "value (in: a, b)", "aria-label": "Value",
      "data-testid": "where-value",
    }),
    h("button", { type: "button", class: "secondary", onclick: remove, title: "Remove" }, "×"),
  );
}

/** The builder, showing the rows of the URL's `where`. */
export function builder(text) {
  const found = text ? rowsOf(text) : [];
  const rows = h("div", { class: "where-rows" }, (found.length ? found : [{}]).map(row));
  const add = h("button", {
    type: "button", class: "secondary", "data-testid": "where-add",
    onclick: () => rows.append(row()),
  }, "+ and");
  return h(
    "fieldset",
    { class: "where", "data-testid": "where" },
    h("legend", null, "Where (each row must hold)"),
    h("datalist", { id: "where-fields" }, FIELDS.map((f) => h("option", { value: f }))),
    rows,
    add,
  );
}
