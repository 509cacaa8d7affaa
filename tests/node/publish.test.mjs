// What `npm publish` would upload: `npm publish --dry-run --json` on the built package
// (target/npm/plugboard). The file list is exact, the wasm ships once, the metadata a registry
// page shows is there, and Node's entry loads the one wasm. Run by scripts/test.sh after
// scripts/build-npm.mjs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const pkgDir = fileURLToPath(new URL("../../target/npm/plugboard/", import.meta.url));
const manifest = JSON.parse(readFileSync(pkgDir + "package.json", "utf8"));

// The dry run never contacts a registry; an unreachable one proves it.
const dryRun = JSON.parse(
  execFileSync("npm", ["publish", "--dry-run", "--json", "--registry", "http://127.0.0.1:9/", "--tag", "dry-run"], {
    cwd: pkgDir,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  }),
);
const report = dryRun.files ? dryRun : dryRun[manifest.name] ?? Object.values(dryRun)[0];

test("npm publish --dry-run uploads exactly the package's files", () => {
  const files = report.files.map((f) => f.path).sort();
  assert.deepEqual(files, [
    "LICENSE-APACHE",
    "LICENSE-MIT",
    "README.md",
    "index.d.ts",
    "node/index.mjs",
    "package.json",
    "web/index.js",
    "web/plugboard.js",
    "web/plugboard_bg.wasm",
    "web/raw.js",
  ]);
});

test("the wasm ships once and the package stays about its size", () => {
  const wasm = report.files.filter((f) => f.path.endsWith(".wasm"));
  assert.equal(wasm.length, 1, wasm.map((f) => f.path).join(", "));
  const others = report.unpackedSize - wasm[0].size;
  assert.ok(others < 400_000, `everything but the wasm is ${others} bytes`);
});

test("the manifest says what a registry page shows", () => {
  assert.equal(report.name, "plugboard");
  assert.equal(manifest.license, "MIT OR Apache-2.0");
  assert.match(manifest.repository.url, /^https:\/\//);
  assert.equal(manifest.homepage, `${manifest.repository.url}#readme`);
  assert.ok(manifest.keywords.includes("webassembly") && manifest.keywords.includes("lua"), manifest.keywords.join());
  assert.match(readFileSync(pkgDir + "LICENSE-MIT", "utf8"), /Permission is hereby granted/);
  assert.match(readFileSync(pkgDir + "LICENSE-APACHE", "utf8"), /Apache License\s+Version 2\.0/);
});

test("every path the exports map names is in the upload", () => {
  const files = new Set(report.files.map((f) => f.path));
  const targets = [];
  const walk = (v) => (typeof v === "string" ? targets.push(v) : Object.values(v).forEach(walk));
  walk(manifest.exports);
  for (const t of [...targets, manifest.main, manifest.module, manifest.browser, manifest.types]) {
    assert.ok(files.has(t.replace(/^\.\//, "")), `${t} is uploaded`);
  }
});

test("Node's entry instantiates the one wasm: no init needed", async () => {
  const { PluginHost } = await import(pkgDir + "node/index.mjs");
  const host = new PluginHost();
  const lua = await host.loadLua("one", "function f(x) return x + 1 end");
  assert.equal(await lua.call("f", 41), 42);
  host.close();
});
