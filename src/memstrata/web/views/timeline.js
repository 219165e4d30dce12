// Timeline: each memory's event time (when it happened or holds) against its record time (when
// memstrata learnt it). On the diagonal, a memory was recorded as it happened; above it, later;
// below it, ahead of time (a plan, a date to come).

import { get } from "../api.js";
import { badge, card, clip, empty, h, link, s, table, when } from "../dom.js";
import { KINDS, STATES } from "./search.js";

const DAY = 86_400_000;
const W = 920;
const H = 440;
const PAD = { left: 86, right: 24, top: 20, bottom: 52 };

function ticks(min, max) {
  const span = (max - min) / DAY;
  const out = [];
  const start = new Date(min);
  if (span > 60) {
    const months = span / 30.4;
    const step = months > 36 ? 12 : Math.max(1, Math.ceil(months / 8));
    const at = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
    while (at.getTime() <= max) {
      if (at.getUTCMonth() % step === 0 || step === 1) {
        out.push([at.getTime(), at.toISOString().slice(0, step === 12 ? 4 : 7)]);
      }
      at.setUTCMonth(at.getUTCMonth() + 1);
    }
  } else {
    const step = Math.max(1, Math.ceil(span / 8));
    const at = Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate() + 1);
    for (let t = at; t <= max; t += step * DAY) out.push([t, new Date(t).toISOString().slice(0, 10)]);
  }
  return out;
}

export function lag(eventMs, recordedMs) {
  const ms = recordedMs - eventMs;
  const size = Math.abs(ms);
  const unit =
    size < 3_600_000
      ? [Math.round(size / 60_000), "min"]
      : size < 2 * DAY
        ? [Math.round(size / 3_600_000), "h"]
        : size < 60 * DAY
          ? [Math.round(size / DAY), "days"]
          : [Math.round(size / (30.4 * DAY)), "months"];
  if (unit[0] === 0) return "as it happened";
  return `${unit[0]} ${unit[1]} ${ms >= 0 ? "later" : "ahead"}`;
}

function text(x, y, cls, anchor, content, extra = {}) {
  return s("text", { x, y, class: cls, "text-anchor": anchor, ...extra }, content);
}

function chart(points, scope) {
  const bottom = H - PAD.bottom;
  const middle = (bottom + PAD.top) / 2;
  const times = points.flatMap((p) => [p.event, p.recorded]);
  let min = Math.min(...times);
  let max = Math.max(...times);
  if (max - min < DAY) {
    min -= DAY / 2;
    max += DAY / 2;
  }
  const pad = (max - min) * 0.04;
  min -= pad;
  max += pad;
  const x = (t) => PAD.left + ((t - min) / (max - min)) * (W - PAD.left - PAD.right);
  const y = (t) => H - PAD.bottom - ((t - min) / (max - min)) * (H - PAD.top - PAD.bottom);
  const grid = ticks(min, max).map(([t, label]) => [
    s("line", { x1: x(t), x2: x(t), y1: PAD.top, y2: H - PAD.bottom, class: "grid" }),
    s("line", { x1: PAD.left, x2: W - PAD.right, y1: y(t), y2: y(t), class: "grid" }),
    s("text", { x: x(t), y: H - PAD.bottom + 18, class: "tick", "text-anchor": "middle" }, label),
    s("text", { x: PAD.left - 8, y: y(t) + 4, class: "tick", "text-anchor": "end" }, label),
  ]);
  // Memories at the same spot (one session's messages) are spread side by side.
  const spots = new Map();
  for (const p of points) {
    const spot = `${Math.round(x(p.event) / 6)},${Math.round(y(p.recorded) / 6)}`;
    if (!spots.has(spot)) spots.set(spot, []);
    spots.get(spot).push(p);
  }
  for (const group of spots.values()) {
    group.forEach((p, i) => {
      p.shift = (i - (group.length - 1) / 2) * 10;
    });
  }
  const dots = points.map((p) =>
    s(
      "circle",
      {
        cx: x(p.event) + p.shift,
        cy: y(p.recorded),
        r: p.m.kind === "episode" ? 4.5 : 6.5,
        class: `dot kind-${p.m.kind}${p.estimated ? " estimated" : ""}`,
        "data-id": p.m.id,
        onclick: () => {
          location.hash = link(`memory/${encodeURIComponent(p.m.id)}`, scope);
        },
      },
      s(
        "title",
        null,
        `${clip(p.m.text, 120)}\nevent ${when(p.m.valid_from)} · recorded ${when(p.m.recorded_at)}`,
      ),
    ),
  );
  return s(
    "svg",
    { viewBox: `0 0 ${W} ${H}`, class: "timeline-chart", role: "img", "data-testid": "timeline-chart" },
    s("title", null, "Event time against record time"),
    grid,
    s("line", { x1: x(min), y1: y(min), x2: x(max), y2: y(max), class: "diagonal" }),
    text(x(max) - 6, y(max) + 16, "note", "end", "recorded as it happened"),
    text(PAD.left + 10, PAD.top + 16, "note", "start", "↖ learnt later"),
    text(W - PAD.right - 10, H - PAD.bottom - 10, "note", "end", "learnt ahead of time ↘"),
    s("line", { x1: PAD.left, x2: W - PAD.right, y1: bottom, y2: bottom, class: "axis" }),
    s("line", { x1: PAD.left, x2: PAD.left, y1: PAD.top, y2: bottom, class: "axis" }),
    text((W + PAD.left) / 2, H - 10, "label", "middle", "event time: when it happened (valid from)"),
    text(16, middle, "label", "middle", "record time: when it was learnt", {
      transform: `rotate(-90 16 ${middle})`,
    }),
    dots,
  );
}

function legend(kinds, estimated) {
  return h(
    "div",
    { class: "legend" },
    kinds.map((kind) => h("span", null, h("i", { class: `swatch kind-${kind}` }), kind)),
    estimated
      ? h("span", null, h("i", { class: "swatch estimated" }), "no event time (shown at record time)")
      : null,
  );
}

function filterForm(params, scope) {
  const onchange = (event) => {
    const data = new FormData(event.target.form);
    const next = { ...scope };
    for (const [name, value] of data.entries()) if (value) next[name] = value;
    location.hash = link("timeline", next);
  };
  const choose = (name, options, value, any) =>
    h(
      "select",
      { name, onchange, "data-testid": `timeline-${name}` },
      any ? h("option", { value: "" }, any) : null,
      options.map((o) => h("option", { value: o, selected: o === value }, o)),
    );
  return h(
    "form",
    { class: "row filters-inline" },
    h("label", null, "Kind ", choose("kind", KINDS, params.get("kind"), "any kind")),
    h("label", null, "State ", choose("state", [...STATES, "any"], params.get("state") || "active")),
  );
}

export async function timelineView({ params, scope }) {
  const state = params.get("state") || "active";
  const page = await get("/memories", {
    ...scope,
    limit: 1000,
    kind: params.get("kind"),
    state: state === "any" ? STATES : state,
  });
  const memories = page.memories;
  if (!memories.length) {
    return h("div", null, filterForm(params, scope), card("Timeline", empty("No memories to show.")));
  }
  const points = memories.map((m) => {
    const recorded = Date.parse(m.recorded_at);
    const event = m.valid_from ? Date.parse(m.valid_from) : recorded;
    return { m, event, recorded, estimated: !m.valid_from };
  });
  points.sort((a, b) => a.event - b.event || a.recorded - b.recorded);
  const kinds = KINDS.filter((k) => memories.some((m) => m.kind === k));
  const rows = points.map((p) =>
    h(
      "tr",
      { "data-testid": "timeline-row", "data-id": p.m.id },
      h("td", { class: "nowrap" }, p.estimated ? "–" : when(p.m.valid_from)),
      h("td", { class: "nowrap" }, when(p.m.recorded_at)),
      h("td", { class: "nowrap muted" }, p.estimated ? "" : lag(p.event, p.recorded)),
      h("td", null, badge(p.m.kind)),
      h(
        "td",
        { class: "text-cell" },
        h("a", { href: link(`memory/${encodeURIComponent(p.m.id)}`, scope) }, clip(p.m.text, 120)),
      ),
    ),
  );
  const more = page.next_cursor
    ? h("p", { class: "muted" }, "Showing the newest 1,000 memories.")
    : null;
  return h(
    "div",
    null,
    filterForm(params, scope),
    card(
      `Event time against record time · ${memories.length} memories`,
      legend(kinds, points.some((p) => p.estimated)),
      chart(points, scope),
      more,
    ),
    card(
      "In order of event time",
      table(["Happened", "Recorded", "Delay", "Kind", "Memory"], rows, {
        class: "data",
        "data-testid": "timeline",
      }),
    ),
  );
}
