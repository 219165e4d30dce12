/**
 * A real `memstrata serve` for the tests: a free port on 127.0.0.1, a temporary database, the
 * hashing embedder. `MEMSTRATA_BIN` names the `memstrata` command (default: the one on PATH).
 */

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BIN = process.env.MEMSTRATA_BIN ?? "memstrata";

export interface RunningServer {
  url: string;
  /** Create an API key for `tenant` (the server then requires keys). */
  key(tenant: string): string;
  stop(): Promise<void>;
}

/** A port nothing listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
}

/** Start a server; with `tenants`, create a key for each first, so the server requires keys. */
export async function startServer(tenants: string[] = []): Promise<RunningServer & { keys: Record<string, string> }> {
  const dir = mkdtempSync(join(tmpdir(), "memstrata-ts-"));
  const db = join(dir, "memories.db");
  const common = ["--db", db, "--embedder", "hashing"];
  const key = (tenant: string): string => {
    const out = execFileSync(BIN, ["keys", "create", "--tenant", tenant, "--json", ...common], {
      encoding: "utf8",
    });
    return (JSON.parse(out) as { secret: string }).secret;
  };
  const keys = Object.fromEntries(tenants.map((t) => [t, key(t)]));
  const port = await freePort();
  const child = spawn(
    BIN,
    ["serve", ...common, "--host", "127.0.0.1", "--port", String(port), "--log-level", "warning"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  child.stdout?.on("data", (chunk: Buffer) => (log += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (log += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`memstrata serve exited: ${log}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`memstrata serve did not start within 60 s: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    keys,
    key,
    async stop() {
      child.kill("SIGTERM");
      await exited(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
