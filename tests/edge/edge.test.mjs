// workerd (the real binary, from npm) serving tests/edge/worker.mjs with the package's web
// build on 127.0.0.1: plugins arrive in request bodies and run at request time.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const workerd = join(root, "crates/web/js/node_modules/.bin/workerd");
const PERF = readFileSync(join(root, "target/plugins/wasm32-wasip1/release/perf.wasm"));
const ZIG = readFileSync(join(root, "target/plugins/zig/nvim_examples.wasm"));
const STRESS = readFileSync(join(root, "target/plugins/wasm32-wasip1/release/stress.wasm"));
let proc;
let base;
let output = "";

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

before(async () => {
  // capnp `embed` paths are relative to the config: put everything in one folder.
  const dir = mkdtempSync(join(tmpdir(), "plugboard-edge-"));
  const web = join(root, "target/npm/plugboard/web");
  for (const f of ["index.js", "raw.js", "plugboard.js", "plugboard_bg.wasm"]) cpSync(join(web, f), join(dir, f));
  cpSync(join(root, "tests/edge/worker.mjs"), join(dir, "worker.mjs"));
  cpSync(join(root, "tests/shared/stress.mjs"), join(dir, "stress.mjs"));
  writeFileSync(join(dir, "config.capnp"), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .w) ],
  sockets = [ (name = "http", address = "127.0.0.1:0", http = (), service = "main") ] );
const w :Workerd.Worker = (
  modules = [ (name = "worker.mjs", esModule = embed "worker.mjs"),
              (name = "index.js", esModule = embed "index.js"),
              (name = "raw.js", esModule = embed "raw.js"),
              (name = "plugboard.js", esModule = embed "plugboard.js"),
              (name = "stress.mjs", esModule = embed "stress.mjs"),
              (name = "plugboard_bg.wasm", wasm = embed "plugboard_bg.wasm") ],
  compatibilityDate = "2025-09-01" );
`);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  proc = spawn(workerd, ["serve", join(dir, "config.capnp"), "--socket-addr", `http=127.0.0.1:${port}`], { stdio: ["ignore", "pipe", "pipe"] });
  proc.stdout.on("data", (d) => (output += d));
  proc.stderr.on("data", (d) => (output += d));
  for (let i = 0; i < 150; i++) {
    if (proc.exitCode !== null) throw new Error(`workerd exited: ${output}`);
    try {
      await fetch(`${base}/lua?fn=f`, { method: "POST", body: "function f() return 1 end" });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`workerd did not answer: ${output}`);
});

after(() => proc?.kill());

async function post(path, body) {
  const res = await fetch(base + path, { method: "POST", body });
  assert.equal(res.status, 200, output);
  return res.json();
}

test("a Lua plugin from the request body runs at request time, with async host functions", async () => {
  const lua = `function go(n) local s = 0 for i = 1, n do s = s + i end return math.add(s, net.later(1)) end`;
  const r = await post(`/lua?fn=go&input=${encodeURIComponent(JSON.stringify(1000))}`, lua);
  assert.deepEqual({ ok: r.ok, abi: r.abi, result: r.result }, { ok: true, abi: "lua", result: 500501 });
});

test("wasm plugins from the request body run although workerd blocks compiling them", async () => {
  const blocked = await post("/native-compile", PERF);
  assert.equal(blocked.blocked, true, JSON.stringify(blocked));
  const r = await post(`/wasm?fn=add&input=${encodeURIComponent("[2, 40]")}`, PERF);
  assert.deepEqual({ ok: r.ok, abi: r.abi, result: r.result }, { ok: true, abi: "buffer", result: 42 });
  const z = await post(`/wasm?fn=hostAdd&input=${encodeURIComponent("[1, 2]")}`, ZIG);
  // The nvim plugin's `host.add` resolves to the worker's JS `math.add` (the only `add`).
  assert.deepEqual({ ok: z.ok, abi: z.abi, result: z.result }, { ok: true, abi: "nvim", result: 3 });
});

test("a runaway plugin is stopped by fuel and the next request succeeds", async () => {
  const loop = await post("/lua?fn=f&fuel=5000000", "function f() while true do end end");
  assert.deepEqual({ ok: loop.ok, name: loop.name, kind: loop.kind }, { ok: false, name: "PluginError", kind: "outOfFuel" });
  const wasm = await post(`/wasm?fn=sum&fuel=5000000&input=${1e12}`, PERF);
  assert.equal(wasm.kind, "outOfFuel");
  const ok = await post(`/wasm?fn=sum&input=1000`, PERF);
  assert.deepEqual({ ok: ok.ok, result: ok.result }, { ok: true, result: 500500 });
});

test("bad plugins are typed errors and the worker keeps serving", async () => {
  const syntax = await post("/lua?fn=f", "function f(");
  assert.equal(syntax.kind, "luaSyntax");
  const garbage = await post("/wasm?fn=f", new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 99]));
  assert.equal(garbage.kind, "invalidModule");
  const ok = await post("/lua?fn=f", "function f() return 'fine' end");
  assert.equal(ok.result, "fine");
});

test("the stress cases every JS target runs pass in workerd: deep recursion, memory.grow to the cap, re-entry (RES-03, RES-05, CON-01)", async () => {
  const results = await post("/stress", STRESS);
  assert.ok(results.length >= 4, JSON.stringify(results));
  for (const r of results) assert.ok(r.ok, `${r.name}: ${r.error}`);
  const ok = await post("/lua?fn=f", "function f() return 'after stress' end");
  assert.equal(ok.result, "after stress");
});
