// Writes src/schema.ts from openapi.json with openapi-typescript; with --check, writes nothing
// and fails when src/schema.ts is not what it would write (so the checked-in types cannot drift
// from the checked-in OpenAPI document, which tests/integrations/test_typescript_client.py
// checks against the server's). scripts/gen_ts_client.sh at the repository root runs both steps.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// Fields with a default stay optional: a request may leave them out.
const OPTIONS = ["--default-non-nullable", "false"];
const CLI = "node_modules/openapi-typescript/bin/cli.js";

function generate(output) {
  execFileSync(process.execPath, [CLI, "openapi.json", "--output", output, ...OPTIONS], {
    stdio: ["ignore", "ignore", "inherit"],
  });
}

if (!process.argv.includes("--check")) {
  generate("src/schema.ts");
} else {
  const dir = mkdtempSync(join(tmpdir(), "memstrata-schema-"));
  try {
    generate(join(dir, "schema.ts"));
    if (readFileSync(join(dir, "schema.ts"), "utf8") !== readFileSync("src/schema.ts", "utf8")) {
      console.error("src/schema.ts is stale: run scripts/gen_ts_client.sh at the repository root");
      process.exit(1);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
