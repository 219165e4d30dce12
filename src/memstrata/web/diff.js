// A word-level diff between two texts: the longest common subsequence of their words (with the
// spaces and punctuation between them), as runs of "same", "del" and "ins".

import { h } from "./dom.js";

/** Above this many cells the LCS table is not built: the texts show as one deletion and one
 * insertion instead (after the common start and end are taken off). */
const MAX_CELLS = 2_000_000;

/** Words, runs of spaces and single punctuation marks: "Pixel." is "Pixel" and ".". */
function words(text) {
  return text.match(/\s+|[\p{L}\p{N}_'’-]+|[^\s\p{L}\p{N}_'’-]/gu) || [];
}

function push(ops, type, text) {
  const last = ops[ops.length - 1];
  if (last && last.type === type) last.text += text;
  else ops.push({ type, text });
}

/** The edit from `before` to `after`: [{type: "same" | "del" | "ins", text}, …]. */
export function diffWords(before, after) {
  const a = words(before);
  const b = words(after);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start += 1;
  let end = 0;
  while (
    end < a.length - start &&
    end < b.length - start &&
    a[a.length - 1 - end] === b[b.length - 1 - end]
  ) {
    end += 1;
  }
  const ops = [];
  push(ops, "same", a.slice(0, start).join(""));
  const x = a.slice(start, a.length - end);
  const y = b.slice(start, b.length - end);
  if ((x.length + 1) * (y.length + 1) > MAX_CELLS) {
    push(ops, "del", x.join(""));
    push(ops, "ins", y.join(""));
  } else {
    // lengths[i][j]: the LCS of x[i:] and y[j:]
    const lengths = Array.from({ length: x.length + 1 }, () => new Uint32Array(y.length + 1));
    for (let i = x.length - 1; i >= 0; i -= 1) {
      for (let j = y.length - 1; j >= 0; j -= 1) {
        lengths[i][j] =
          x[i] === y[j] ? lengths[i + 1][j + 1] + 1 : Math.max(lengths[i + 1][j], lengths[i][j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < x.length && j < y.length) {
      if (x[i] === y[j]) {
        push(ops, "same", x[i]);
        i += 1;
        j += 1;
      } else if (lengths[i + 1][j] >= lengths[i][j + 1]) {
        push(ops, "del", x[i]);
        i += 1;
      } else {
        push(ops, "ins", y[j]);
        j += 1;
      }
    }
    push(ops, "del", x.slice(i).join(""));
    push(ops, "ins", y.slice(j).join(""));
  }
  push(ops, "same", a.slice(a.length - end).join(""));
  return ops.filter((op) => op.text !== "");
}

/** The diff as a paragraph: deletions struck through, insertions underlined. */
export function renderDiff(before, after) {
  const ops = diffWords(before, after);
  const tag = { same: "span", del: "del", ins: "ins" };
  return h(
    "p",
    { class: "diff" },
    ops.length ? ops.map((op) => h(tag[op.type], null, op.text)) : h("span", null, "(no text)"),
  );
}
