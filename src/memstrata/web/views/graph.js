// Graph: the scope's memories that name entities or link to each other, the entities, and the
// relations between entities, drawn with a small force layout (Fruchterman-Reingold), started
// from a circle so the same graph always comes out the same.

import { get } from "../api.js";
import { card, clip, empty, h, link, s, table } from "../dom.js";
import { KINDS } from "./search.js";

const W = 960;
const H = 620;
const ROUNDS = 300;

export function layout(nodes, edges, width = W, height = H) {
  const count = Math.max(nodes.length, 1);
  const k = Math.sqrt((width * height) / count) * 0.75;
  nodes.forEach((node, i) => {
    const angle = (2 * Math.PI * i) / count;
    node.x = width / 2 + (width / 3) * Math.cos(angle);
    node.y = height / 2 + (height / 3) * Math.sin(angle);
  });
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const springs = edges
    .map((e) => [byId.get(e.source), byId.get(e.target)])
    .filter(([a, b]) => a && b && a !== b);
  for (let round = 0; round < ROUNDS; round += 1) {
    const heat = (width / 10) * (1 - round / ROUNDS) + 0.5;
    for (const node of nodes) {
      node.dx = (width / 2 - node.x) * 0.01; // a little gravity keeps parts together
      node.dy = (height / 2 - node.y) * 0.01;
    }
    for (let i = 0; i < nodes.length; i += 1) {
      for (let j = i + 1; j < nodes.length; j += 1) {
        const a = nodes[i];
        const b = nodes[j];
        const dx = a.x - b.x || 0.01;
        const dy = a.y - b.y || 0.01;
        const d2 = dx * dx + dy * dy;
        const push = (k * k) / d2;
        a.dx += dx * push;
        a.dy += dy * push;
        b.dx -= dx * push;
        b.dy -= dy * push;
      }
    }
    for (const [a, b] of springs) {
      const dx = a.x - b.x;
      const dy = a.y - b.y;
      const d = Math.sqrt(dx * dx + dy * dy) || 0.01;
      const pull = d / k;
      a.dx -= dx * pull;
      a.dy -= dy * pull;
      b.dx += dx * pull;
      b.dy += dy * pull;
    }
    for (const node of nodes) {
      const d = Math.sqrt(node.dx * node.dx + node.dy * node.dy) || 1;
      const step = Math.min(d, heat);
      node.x = Math.min(width - 40, Math.max(40, node.x + (node.dx / d) * step));
      node.y = Math.min(height - 30, Math.max(30, node.y + (node.dy / d) * step));
    }
  }
  return nodes;
}

function radius(node) {
  if (node.type === "entity") return 7 + 2.2 * Math.sqrt(node.mentions || 1);
  return 6;
}

function draw(graph, scope, focus) {
  const nodes = layout(graph.nodes.map((n) => ({ ...n })), graph.edges);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const neighbours = new Map(nodes.map((n) => [n.id, new Set([n.id])]));
  for (const e of graph.edges) {
    neighbours.get(e.source)?.add(e.target);
    neighbours.get(e.target)?.add(e.source);
  }
  const labelled = nodes.length <= 90;
  const edges = graph.edges
    .filter((e) => byId.has(e.source) && byId.has(e.target))
    .map((e) => {
      const a = byId.get(e.source);
      const b = byId.get(e.target);
      return s(
        "g",
        {
          class: `edge edge-${e.type} edge-${e.label.replace(/\W+/g, "-")}`,
          "data-ends": `${e.source} ${e.target}`,
        },
        s("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y }),
        e.type === "relation"
          ? s("text", { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 - 3, "text-anchor": "middle" }, e.label)
          : null,
        s("title", null, e.score == null ? e.label : `${e.label} (${e.score.toFixed(2)})`),
      );
    });
  const svg = s("svg", {
    viewBox: `0 0 ${W} ${H}`,
    class: "graph-chart",
    role: "img",
    "data-testid": "graph-chart",
  });
  const highlight = (id) => {
    const near = id ? neighbours.get(id) : null;
    svg.classList.toggle("dimmed", Boolean(near));
    for (const el of svg.querySelectorAll(".node")) {
      el.classList.toggle("near", Boolean(near?.has(el.dataset.node)));
    }
    for (const el of svg.querySelectorAll(".edge")) {
      const [a, b] = el.dataset.ends.split(" ");
      el.classList.toggle("near", Boolean(near && (a === id || b === id)));
    }
  };
  const drawn = nodes.map((n) => {
    const isMemory = n.type === "memory";
    const r = radius(n);
    const text = isMemory ? clip(n.label, 34) : n.label;
    const classes = ["node", `node-${n.type}`];
    if (isMemory) classes.push(`kind-${n.kind}`);
    if (focus && n.memory_id === focus) classes.push("focus");
    const title = isMemory
      ? `${n.kind}: ${n.label}`
      : `${n.label}: named by ${n.mentions ?? "?"} memories`;
    return s(
      "g",
      {
        class: classes.join(" "),
        transform: `translate(${n.x.toFixed(1)} ${n.y.toFixed(1)})`,
        "data-node": n.id,
        onmouseenter: () => highlight(n.id),
        onmouseleave: () => highlight(focus ? `memory:${focus}` : null),
        onclick: isMemory
          ? () => {
              location.hash = link(`memory/${encodeURIComponent(n.memory_id)}`, scope);
            }
          : null,
      },
      s("circle", { r }),
      labelled || !isMemory ? s("text", { x: r + 4, y: 4 }, text) : null,
      s("title", null, title),
    );
  });
  svg.append(s("g", { class: "edges" }, edges), s("g", { class: "nodes" }, drawn));
  if (focus) highlight(`memory:${focus}`);
  return svg;
}

function controls(params, scope) {
  const onchange = (event) => {
    const next = { ...scope };
    if (event.target.checked) next.episodes = "1";
    if (params.get("focus")) next.focus = params.get("focus");
    location.hash = link("graph", next);
  };
  return h(
    "div",
    { class: "row filters-inline" },
    h(
      "label",
      null,
      h("input", {
        type: "checkbox",
        checked: params.get("episodes") === "1",
        onchange,
        "data-testid": "graph-episodes",
      }),
      " include episodes (raw messages)",
    ),
  );
}

function legend() {
  return h(
    "div",
    { class: "legend" },
    h("span", null, h("i", { class: "swatch entity" }), "entity (size: memories naming it)"),
    h("span", null, h("i", { class: "swatch kind-fact" }), "fact"),
    h("span", null, h("i", { class: "swatch kind-episode" }), "episode"),
    h("span", null, h("i", { class: "line related" }), "related link"),
    h("span", null, h("i", { class: "line supersedes" }), "supersedes"),
    h("span", null, h("i", { class: "line mentions" }), "mentions"),
    h("span", null, h("i", { class: "line relation" }), "relation"),
  );
}

export async function graphView({ params, scope }) {
  const kinds = params.get("episodes") === "1" ? KINDS : KINDS.filter((k) => k !== "episode");
  const graph = await get("/graph", { ...scope, kind: kinds, limit: 200 });
  if (!graph.nodes.length) {
    return h(
      "div",
      null,
      controls(params, scope),
      card(
        "Graph",
        empty(
          "No memory here names an entity or links to another yet. Entities and links come " +
            "from the LLM write path (docs/llm-pipeline.md).",
        ),
      ),
    );
  }
  const entities = graph.nodes
    .filter((n) => n.type === "entity")
    .sort((a, b) => (b.mentions ?? 0) - (a.mentions ?? 0) || a.label.localeCompare(b.label));
  const memories = graph.nodes.filter((n) => n.type === "memory").length;
  const relations = graph.edges.filter((e) => e.type === "relation");
  const labels = new Map(graph.nodes.map((n) => [n.id, n.label]));
  return h(
    "div",
    null,
    controls(params, scope),
    card(
      `${memories} memories · ${entities.length} entities · ${graph.edges.length} edges`,
      legend(),
      draw(graph, scope, params.get("focus")),
      h("p", { class: "muted small" }, "Hover a node to see its neighbours; click a memory to open."),
    ),
    h(
      "div",
      { class: "two-columns" },
      card(
        "Entities",
        table(
          ["Entity", "Named by"],
          entities.map((e) =>
            h(
              "tr",
              { "data-testid": "entity" },
              h("td", null, e.label),
              h("td", { class: "num" }, e.mentions ?? "–"),
            ),
          ),
          { class: "data" },
        ),
      ),
      card(
        "Relations",
        relations.length
          ? table(
              ["Subject", "Relation", "Object"],
              relations.map((e) =>
                h(
                  "tr",
                  null,
                  h("td", null, labels.get(e.source)),
                  h("td", null, e.label),
                  h("td", null, labels.get(e.target)),
                ),
              ),
              { class: "data" },
            )
          : empty("No relations between these entities."),
      ),
    ),
  );
}
