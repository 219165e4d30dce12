import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import {
  ConfirmationRequiredError,
  ConflictError,
  ConnectionError,
  InvalidInputError,
  MemstrataClient,
  MemstrataError,
  NotFoundError,
  ScopeRequiredError,
  UnauthorizedError,
} from "@memstrata/client";

import { freePort, type RunningServer, startServer } from "./server.js";

describe("against a server without API keys", () => {
  let server: RunningServer;
  let mem: MemstrataClient;
  const sent: Request[] = [];

  before(async () => {
    server = await startServer();
    const recording: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      sent.push(request.clone());
      return fetch(request);
    };
    mem = new MemstrataClient({ baseUrl: server.url, fetch: recording });
  });
  after(async () => server.stop());

  test("add, then search finds it with its context and signals", async () => {
    const added = await mem.add(
      [
        { id: "m1", speaker: "Ada", text: "I moved to Lisbon in May", timestamp: "2026-05-03T10:00:00Z" },
        { id: "m2", role: "assistant", text: "Lisbon is lovely in spring." },
      ],
      { user_id: "ada", metadata: { session: 1 } },
    );
    assert.deepEqual(added.added.map((m) => m.sources), [["m1"], ["m2"]]);
    assert.deepEqual(added.duplicates, []);
    const again = await mem.add({ id: "m1", text: "I moved to Lisbon in May" }, { user_id: "ada" });
    assert.deepEqual(again.duplicates, ["m1"]);

    const result = await mem.search("where does Ada live", { user_id: "ada", limit: 1 });
    assert.equal(result.query, "where does Ada live");
    assert.ok(result.search_id);
    const [hit] = result.hits;
    assert.ok(hit);
    assert.equal(hit.text, "I moved to Lisbon in May");
    assert.equal(hit.context, "(3 May 2026) Ada: I moved to Lisbon in May");
    assert.equal(typeof hit.score, "number");
    assert.ok(Object.keys(hit.signals).length > 0);
    assert.deepEqual(hit.metadata, { session: 1, role: "user" });

    const facts = await mem.search("Lisbon", { user_id: "ada", kinds: ["fact"] });
    assert.deepEqual(facts.hits, []);
    const fitted = await mem.search("Lisbon", { user_id: "ada", budget: 60 });
    assert.ok(fitted.hits.length >= 1);
    assert.ok(fitted.hits.map((h) => h.context.length).reduce((a, b) => a + b, 0) <= 60);
  });

  test("bodies go as JSON, with no Origin header", async () => {
    await mem.remember("Offer Ada green tea", { user_id: "ada", kind: "procedure" });
    const posts = sent.filter((r) => r.method === "POST" || r.method === "PATCH");
    assert.ok(posts.length > 0);
    for (const request of posts) {
      assert.equal(request.headers.get("content-type"), "application/json");
      assert.equal(request.headers.get("origin"), null);
      assert.equal(typeof JSON.parse(await request.text()), "object");
    }
  });

  test("a memory's life: remember, get, update, versions, history, delete, restore", async () => {
    const scope = { user_id: "bea" };
    const memory = await mem.remember("Bea lives in Porto", { ...scope, kind: "procedure", metadata: { topic: "home" } });
    assert.equal(memory.kind, "procedure");
    assert.equal((await mem.get(memory.id, scope)).text, "Bea lives in Porto");

    const updated = await mem.update(memory.id, { text: "Bea lives in Braga", reason: "moved" }, scope);
    assert.equal(updated.version, 2);
    const versions = await mem.versions(memory.id, scope);
    assert.deepEqual(versions.map((v) => v.text), ["Bea lives in Porto", "Bea lives in Braga"]);
    const history = await mem.history(memory.id, scope);
    assert.deepEqual(history.map((e) => e.op), ["ADD", "UPDATE"]);
    assert.equal(history[1]?.reason, "moved");

    const deleted = await mem.delete(memory.id, { ...scope, reason: "wrong person" });
    assert.equal(deleted.state, "deleted");
    assert.deepEqual((await mem.list(scope)).memories, []);
    assert.equal((await mem.get(memory.id, scope)).state, "deleted");
    assert.equal((await mem.restore(memory.id, scope)).state, "active");
    assert.equal((await mem.archive(memory.id, scope)).state, "archived");
    assert.deepEqual((await mem.search("Braga", scope)).hits, []);
    await mem.restore(memory.id, scope);
    assert.equal((await mem.search("Braga", scope)).hits[0]?.id, memory.id);

    await assert.rejects(mem.update(memory.id, { text: "x", expected_version: 1 }, scope), ConflictError);
    await assert.rejects(mem.purge(memory.id, { ...scope, confirm: false }), ConfirmationRequiredError);
    await mem.purge(memory.id, { ...scope, confirm: true });
    await assert.rejects(mem.get(memory.id, scope), NotFoundError);
  });

  test("list pages, filters and iterates; sources and scopes", async () => {
    const scope = { user_id: "cal" };
    const added = await mem.add(
      ["one", "two", "three", "four", "five"].map((word, i) => ({
        id: `c${i}`,
        text: `note ${word}`,
        metadata: { even: i % 2 === 0 },
      })),
      scope,
    );
    const first = await mem.list({ ...scope, limit: 2 });
    assert.deepEqual(first.memories.map((m) => m.text), ["note five", "note four"]);
    assert.ok(first.next_cursor);
    const second = await mem.list({ ...scope, limit: 2, cursor: first.next_cursor });
    assert.deepEqual(second.memories.map((m) => m.text), ["note three", "note two"]);
    const all = [];
    for await (const memory of mem.iterate({ ...scope, limit: 2 })) all.push(memory.text);
    assert.deepEqual(all, ["note five", "note four", "note three", "note two", "note one"]);
    const even = await mem.list({ ...scope, metadata: { even: true }, kind: ["episode"] });
    assert.deepEqual(even.memories.map((m) => m.text), ["note five", "note three", "note one"]);

    const [source] = await mem.sources(added.added[0]!.id, scope);
    assert.equal(source?.id, "c0");
    const scopes = await mem.scopes();
    assert.ok(scopes.some((s) => s.user_id === "cal" && s.memories === 5));
    assert.deepEqual(await mem.links(added.added[0]!.id, scope), []);
  });

  test("feedback and maintain", async () => {
    const scope = { user_id: "dan" };
    await mem.add(["Dan plays the cello", "Dan's cello is from 1890"], scope);
    const result = await mem.search("cello", scope);
    const used = [result.hits[0]!.id];
    const counts = await mem.feedback(result.search_id, used, scope);
    assert.equal(counts.used, 1);
    assert.equal(counts.unused, result.hits.length - 1);
    assert.deepEqual(await mem.maintain({ ...scope, dry_run: true }), []);
  });

  test("export, reset and import", async () => {
    const scope = { user_id: "eve" };
    await mem.add({ id: "e1", text: "Eve keeps bees" }, scope);
    const ndjson = await mem.export(scope);
    const lines = ndjson.trim().split("\n").map((line) => JSON.parse(line) as { type: string });
    assert.ok(lines.some((item) => item.type === "memory"));
    await assert.rejects(mem.import(ndjson), ConflictError);
    await assert.rejects(mem.reset({ ...scope, confirm: false }), ConfirmationRequiredError);
    assert.equal(await mem.reset({ ...scope, confirm: true }), 1);
    assert.equal(await mem.import(ndjson), 1);
    assert.equal((await mem.search("bees", scope)).hits[0]?.text, "Eve keeps bees");
  });

  test("errors are typed and carry the server's code and message", async () => {
    const missing = await mem.get("no-such-id", { user_id: "ada" }).catch((e: unknown) => e);
    assert.ok(missing instanceof NotFoundError);
    assert.ok(missing instanceof MemstrataError);
    assert.equal(missing.status, 404);
    assert.equal(missing.code, "not_found");
    assert.match(missing.message, /no-such-id/);

    const empty = await mem.search("  ", { user_id: "ada" }).catch((e: unknown) => e);
    assert.ok(empty instanceof InvalidInputError);
    assert.equal(empty.status, 422);
    assert.equal(empty.message, "query is empty");

    const zero = await mem.search("Lisbon", { user_id: "ada", limit: 0 }).catch((e: unknown) => e);
    assert.ok(zero instanceof InvalidInputError);
    assert.match(zero.message, /^limit/);
    assert.ok(Array.isArray(zero.details) && zero.details.length === 1);

    const unscoped = await mem.search("Lisbon", {}).catch((e: unknown) => e);
    assert.ok(unscoped instanceof ScopeRequiredError);
    assert.equal(unscoped.code, "scope_required");
  });

  test("health and whoami", async () => {
    assert.equal((await mem.health()).status, "ok");
    assert.deepEqual(await mem.whoami(), { tenant: "default", authenticated: false });
  });
});

describe("against a server with API keys", () => {
  let server: RunningServer & { keys: Record<string, string> };

  before(async () => {
    server = await startServer(["acme", "globex"]);
  });
  after(async () => server.stop());

  test("each key is confined to its tenant", async () => {
    const acme = new MemstrataClient({ baseUrl: server.url, apiKey: server.keys.acme });
    const globex = new MemstrataClient({ baseUrl: server.url, apiKey: server.keys.globex });
    assert.deepEqual(await acme.whoami(), { tenant: "acme", authenticated: true });
    const memory = await acme.remember("Acme's launch is on Friday", { user_id: "ops", kind: "procedure" });
    await assert.rejects(globex.get(memory.id, { user_id: "ops" }), NotFoundError);
    assert.deepEqual((await globex.search("launch", { user_id: "ops" })).hits, []);
    assert.equal(await globex.import(await acme.export({ user_id: "ops" })), 1);
    assert.equal((await globex.search("launch", { user_id: "ops" })).hits[0]?.id, memory.id);
  });

  test("a missing or wrong key is UnauthorizedError", async () => {
    for (const apiKey of [undefined, "ms_wrong"]) {
      const stranger = new MemstrataClient({ baseUrl: server.url, apiKey });
      const error = await stranger.scopes().catch((e: unknown) => e);
      assert.ok(error instanceof UnauthorizedError);
      assert.equal(error.status, 401);
      assert.equal(error.code, "unauthorized");
    }
  });
});

test("a server that is not there is a ConnectionError", async () => {
  const url = `http://127.0.0.1:${await freePort()}`;
  const error = await new MemstrataClient({ baseUrl: url }).health().catch((e: unknown) => e);
  assert.ok(error instanceof ConnectionError);
  assert.equal(error.status, 0);
  assert.equal(error.code, "unreachable");
});
