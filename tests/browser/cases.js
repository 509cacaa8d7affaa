// The npm package in a browser page (headless Chromium, driven by run.mjs): the web build as a
// page imports it, JS host functions using fetch, time slicing on the main thread,
// cancellation, typed errors (RES-01, RES-05, HFN-04, HFN-05, HFN-10) and crash recovery
// (HFN-03). Results go to window.results; run.mjs prints "N passed, N failed".
import init, { PluginHost } from "/pkg/web/index.js";
import { stressCases } from "/shared/stress.mjs";
const __abortForTesting = PluginHost[Symbol.for("plugboard.abortForTesting")];

const log = (line) => (document.getElementById("log").textContent += line + "\n");
const bytes = async (path) => new Uint8Array(await (await fetch(path)).arrayBuffer());
const results = [];
const cases = [];
const test = (name, run) => cases.push({ name, run });
const eq = (a, b, what = "") => {
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`${what} expected ${JSON.stringify(b)}, got ${JSON.stringify(a)}`);
};
async function kindOf(promise) {
  try {
    await promise;
  } catch (e) {
    if (e.name !== "PluginError") throw new Error(`not a PluginError: ${e}`);
    return e.kind;
  }
  throw new Error("expected a rejection");
}

await init();
const PERF = await bytes("/fixtures/wasm32-wasip1/release/perf.wasm");
const ZIG = await bytes("/fixtures/zig/nvim_examples.wasm");

test("lua and wasm plugins with plain values", async () => {
  const host = new PluginHost();
  const lua = await host.loadLua("t", "function f(t) return { n = #t.list, name = t.name } end");
  eq(await lua.call("f", [{ list: [1, 2, 3], name: "x" }]), { n: 3, name: "x" });
  const perf = await host.loadWasm(PERF);
  eq(perf.abi, "buffer");
  eq(await perf.call("sum", 3_000_000), 4_500_001_500_000);
  eq(await perf.call("echo", "héllo"), "héllo");
  eq(perf.callSync("add", [2, 3]), 5);
});

test("async host functions use fetch, from Lua and from an nvim plugin", async () => {
  const host = new PluginHost();
  host.define("net", "get", async (path) => (await fetch(path)).text());
  host.define("host", "add", async (a, b) => a + b);
  const lua = await host.loadLua("web", "function get(p) return 'got ' .. net.get(p) end");
  eq(await lua.call("get", "/echo/hello"), "got hello");
  const zig = await host.loadWasm(ZIG);
  eq(await zig.call("hostAdd", [40, 2]), 42);
  let kind = null;
  try {
    lua.callSync("get", "/echo/x");
  } catch (e) {
    kind = e.kind;
  }
  eq(kind, "hostFunction", "HFN-10 callSync with an async host function:");
});

test("throwing host functions are hostFunction errors (HFN-04)", async () => {
  const host = new PluginHost();
  const bad = [
    () => { throw new TypeError("t"); },
    () => { throw "s"; },
    () => { throw undefined; },
    () => { throw { toString() { throw new Error("x"); } }; },
    () => Promise.reject(new Error("async")),
  ];
  bad.forEach((f, i) => host.define("bad", `f${i}`, f));
  const lua = await host.loadLua("c", "function call(i) return bad['f' .. i]() end\nfunction ok() return 1 end");
  for (let i = 0; i < bad.length; i++) {
    eq(await kindOf(lua.call("call", i)), "hostFunction", `f${i}`);
    eq(await lua.call("ok"), 1);
  }
});

test("a host function returning the wrong type is an error, not a crash (HFN-05)", async () => {
  const conformance = await bytes("/fixtures/wasm32-wasip1/release/conformance.wasm");
  for (const wrong of [() => ({ not: "a number" }), () => NaN, async () => "seven"]) {
    const host = new PluginHost();
    host.define("env", "mystery_number", wrong, "(u32) -> u32");
    const c = await host.loadWasm(conformance, { stubMissingImports: true });
    eq(await kindOf(c.call("and_back", 1)), "hostFunction", `${wrong}`);
    const lua = await host.loadLua("canary", "function ok() return 1 end");
    eq(await lua.call("ok"), 1);
  }
});

test("the page stays responsive: timers and frames run during a long call", async () => {
  const host = new PluginHost({ fuelSlice: 500_000 });
  const perf = await host.loadWasm(PERF);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 4);
  let frames = 0;
  let counting = true;
  const frame = () => { frames++; if (counting) requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
  eq(await perf.call("sum", 4_000_000), 8_000_002_000_000);
  clearInterval(timer);
  counting = false;
  if (ticks === 0) throw new Error("no timer ran during the call");
  log(`  (timers: ${ticks}, frames: ${frames})`);
});

test("an AbortSignal stops a runaway plugin; fuel stops it without one (RES-01)", async () => {
  const host = new PluginHost({ fuel: 20_000_000 });
  const perf = await host.loadWasm(PERF);
  const ac = new AbortController();
  const run = perf.call("sum", 1e12, { signal: ac.signal });
  setTimeout(() => ac.abort(), 5);
  eq(await kindOf(run), "cancelled");
  eq(await kindOf(perf.call("sum", 1e12)), "outOfFuel");
  const lua = await host.loadLua("loop", "function f() while true do end end");
  eq(await kindOf(lua.call("f")), "outOfFuel");
  eq(await perf.call("add", [1, 1]), 2);
});

test("memory caps hold (RES-05)", async () => {
  const host = new PluginHost({ memoryBytes: 2 << 20 });
  const lua = await host.loadLua("grow", "function f() local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end end");
  eq(await kindOf(lua.call("f")), "memoryLimit");
});

test("a runtime crash is recovered: plugins reloaded, the next call works (HFN-03)", async () => {
  const host = new PluginHost();
  host.define("math", "add", (a, b) => a + b);
  const lua = await host.loadLua("calc", "n = 0\nfunction bump() n = n + 1 return math.add(n, 100) end");
  eq(await lua.call("bump"), 101);
  let kind = null;
  try {
    __abortForTesting("crash in the page");
  } catch (e) {
    kind = e.kind;
  }
  eq(kind, "runtimeCrashed");
  eq(await lua.call("bump"), 101);
});

// Limits pushed from inside a plugin (RES-03, RES-05, CON-01, Lua nesting), as in Node and workerd.
const STRESS = await bytes("/fixtures/wasm32-wasip1/release/stress.wasm");
for (const [name, run] of stressCases({ PluginHost }, STRESS)) test(name, run);

for (const c of cases) {
  try {
    await c.run();
    results.push({ name: c.name, ok: true });
    log(`ok - ${c.name}`);
  } catch (e) {
    results.push({ name: c.name, ok: false, error: String(e && e.stack ? e.stack : e) });
    log(`not ok - ${c.name}: ${e}`);
  }
}
window.results = results;
