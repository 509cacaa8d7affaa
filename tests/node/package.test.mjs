// The npm package as a user imports it (`import … from "plugboard"`, resolved through its
// exports map), in Node: plugins of every kind, JS host functions (sync, async, throwing),
// time slicing, cancellation, errors, crash recovery. Run by scripts/test.sh after
// scripts/build-npm.mjs, with node_modules/plugboard linked to target/npm/plugboard.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import init, { PluginHost, Plugin, PluginError, PluginBytes } from "plugboard";
const __abortForTesting = PluginHost[Symbol.for("plugboard.abortForTesting")];

const root = fileURLToPath(new URL("../../", import.meta.url));
const fixture = (path) => readFileSync(root + path);
const PERF = fixture("target/plugins/wasm32-wasip1/release/perf.wasm");
const CONFORMANCE = fixture("target/plugins/wasm32-wasip1/release/conformance.wasm");
const KITCHEN = fixture("target/plugins/wasm32-unknown-unknown/release/extism_kitchen.wasm");
const ZIG = fixture("target/plugins/zig/nvim_examples.wasm");
const ZIG_PERF = fixture("target/plugins/zig/perf.wasm");
const LUA_PERF = readFileSync(root + "plugins/lua/perf/main.lua", "utf8");

await init(); // a no-op in Node, as the README says

async function rejects(promise, kind) {
  try {
    await promise;
  } catch (e) {
    assert.equal(e.name, "PluginError", `${e}`);
    assert.equal(e.kind, kind, `${e.message}`);
    assert.ok(e instanceof PluginError && e instanceof Error);
    return e;
  }
  assert.fail(`expected a ${kind} rejection`);
}

test("init checks that the engine runs WebAssembly tail calls", async () => {
  await init(); // Node 20 does
  const validate = WebAssembly.validate;
  WebAssembly.validate = () => false;
  try {
    await rejects(init(), "runtimeUnsupported");
  } finally {
    WebAssembly.validate = validate;
  }
  assert.ok(WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 6, 1, 4, 0, 18, 0, 11])));
});

test("lua and wasm plugins take and return plain JS values", async () => {
  const host = new PluginHost();
  const lua = await host.loadLua("perf", LUA_PERF);
  assert.equal(lua.abi, "lua");
  assert.equal(await lua.call("sum", 1000), 500500);
  const t = await host.loadLua("tables", "function f(t) return { n = #t.list, name = t.name, bytes = t.raw } end");
  assert.deepEqual(await t.call("f", [{ list: [1, 2, 3], name: "x", raw: "ab" }]), { n: 3, name: "x", bytes: "ab" });

  const perf = await host.loadWasm(PERF, { name: "perf" });
  assert.equal(perf.abi, "buffer");
  assert.deepEqual(perf.exports.find((e) => e.name === "sum"), { name: "sum", signature: "(u64) -> u64" });
  assert.equal(await perf.call("sum", 3_000_000), 4_500_001_500_000);
  assert.equal(await perf.call("add", [2, 40]), 42);
  assert.equal(await perf.call("echo", "héllo"), "héllo");
  assert.equal(perf.callSync("count_primes", 1000), 168);
  assert.ok(perf.fuelConsumed > 0);

  const zig = await host.loadWasm(ZIG_PERF);
  assert.equal(zig.abi, "nvim");
  assert.equal(await zig.call("for_loop", 1000), 500500);
});

test("extism plugins and manifests: calls resolve to the plugin's bytes, decoded as the caller asks", async () => {
  const host = new PluginHost();
  host.define("extism:host/user", "shout", (s) => s.text().toUpperCase());
  host.define("extism:host/user", "add", (pair) => ({ sum: pair.json().a + pair.json().b }));
  const k = await host.loadWasm(KITCHEN, { stubMissingImports: true });
  assert.equal(k.abi, "kernel");
  const out = await k.call("count_vowels", "hello world");
  assert.ok(out instanceof PluginBytes && out instanceof Uint8Array);
  assert.deepEqual(out.json(), { count: 3, total: 3, vowels: "aeiouAEIOU" });
  assert.equal((await k.call("call_host", "hey")).text(), "HEY 5");
  // What the plugin wrote, nothing guessed: bytes stay bytes, "123" stays text.
  assert.deepEqual([...(await k.call("echo", new Uint8Array([1, 2, 3])))], [1, 2, 3]);
  assert.deepEqual([...(await k.call("echo", new Uint8Array([0xff, 0, 0x41, 0xfe]))).bytes()], [0xff, 0, 0x41, 0xfe]);
  assert.equal((await k.call("echo", "123")).text(), "123");
  assert.equal(k.callSync("echo", "1.50").text(), "1.50");
  assert.equal((await k.call("echo", "")).json(), null);
  // Manifests: data as base64 or as a Uint8Array (as Extism's SDK takes it).
  for (const data of [Buffer.from(KITCHEN).toString("base64"), new Uint8Array(KITCHEN)]) {
    const m = await host.loadManifest({ wasm: [{ data }], config: { vowels: "o" } }, { name: "counter" });
    assert.equal(m.name, "counter");
    assert.deepEqual((await m.call("count_vowels", "hello world")).json(), { count: 2, total: 2, vowels: "o" });
  }
});

test("extism host functions get the bytes the plugin sent and reply with bytes (issue 17 item 1)", async () => {
  const host = new PluginHost();
  const seen = [];
  host.define("extism:host/user", "shout", (b) => {
    seen.push(b);
    return b.text();
  });
  host.define("extism:host/user", "add", () => new TextEncoder().encode('{"sum": 5}'));
  const k = await host.loadWasm(KITCHEN, { stubMissingImports: true });
  const awkward = ['"quoted"', '{"a": 1}', "1.50", "123", "  spaced  "];
  for (const text of awkward) {
    assert.equal((await k.call("call_host", text)).text(), `${text} 5`);
  }
  assert.ok(seen.every((b) => b instanceof PluginBytes));
  assert.deepEqual(seen.map((b) => b.text()), awkward);
  assert.deepEqual(seen[1].json(), { a: 1 });
  // A reply of nothing is no bytes; an async reply works the same.
  host.define("extism:host/user", "shout", async (b) => `<${b.text()}>`);
  const k2 = await host.loadWasm(KITCHEN, { stubMissingImports: true });
  assert.equal((await k2.call("call_host", '"x"')).text(), '<"x"> 5');
});

test("extism:host/user is served by that namespace or its alias env, nothing else (issue 17 item 2)", async () => {
  const host = new PluginHost();
  host.define("user", "shout", (b) => b.text());
  host.define("host", "shout", (b) => b.text());
  host.define("user", "add", () => ({ sum: 1 }));
  await assert.rejects(host.loadWasm(KITCHEN), (e) =>
    e.kind === "linkError" && /define it in namespace `extism:host\/user`/.test(e.message) && !/ambiguous/.test(e.message));
  const alias = new PluginHost();
  alias.define("env", "shout", (b) => `env:${b.text()}`);
  alias.define("extism:host/user", "add", () => ({ sum: 1 }));
  const k = await alias.loadWasm(KITCHEN);
  assert.equal((await k.call("call_host", "a")).text(), "env:a 1");
});

test("extism HTTP goes through fetch, only to allowed hosts; manifests load from URLs", async () => {
  const server = createServer((req, res) => {
    if (req.url === "/kitchen.wasm") return res.end(KITCHEN);
    res.end(`served ${req.method} ${req.url}`);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    const host = new PluginHost();
    const k = await host.loadWasm(KITCHEN, { stubMissingImports: true, allowedHosts: ["127.0.0.1"], config: { vowels: "e" } });
    assert.equal((await k.call("fetch", `${base}/data`)).text(), "200 served GET /data");
    assert.deepEqual((await k.call("count_vowels", "hello")).json(), { count: 1, total: 1, vowels: "e" });
    const denied = await host.loadWasm(KITCHEN, { stubMissingImports: true });
    await rejects(denied.call("fetch", `${base}/data`), "capabilityDenied");
    host.define("extism:host/user", "shout", (s) => s);
    host.define("extism:host/user", "add", (x) => x);
    const m = await host.loadManifest({ wasm: [{ url: `${base}/kitchen.wasm` }] });
    assert.deepEqual((await m.call("count_vowels", "aa")).json(), { count: 2, total: 2, vowels: "aeiouAEIOU" });
  } finally {
    server.close();
  }
});

test("host functions: sync, async (fetch), with signatures for bincode plugins", async () => {
  const server = createServer((req, res) => res.end(`fetched ${req.url}`));
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${server.address().port}`;
  try {
    const host = new PluginHost();
    host.define("net", "get", async (path) => (await fetch(url + path)).text());
    host.define("host", "add", async (a, b) => {
      await new Promise((r) => setTimeout(r, 5));
      return a + b;
    });
    host.define("env", "mystery_number", (x) => x + 1, "(u32) -> u32");
    host.define("env", "import_half", async (x) => x / 2, { params: ["u32"], returns: "u32" });
    const lua = await host.loadLua("web", "function get(p) return 'lua ' .. net.get(p) end");
    assert.equal(await lua.call("get", "/a"), "lua fetched /a");
    // main.lua itself awaits fetch while loading.
    const configured = await host.loadLua("configured", "local config = net.get('/config')\nfunction config_of() return config end");
    assert.equal(await configured.call("config_of"), "fetched /config");
    assert.deepEqual(configured.exports.map((e) => e.name), ["config_of"]);
    const zig = await host.loadWasm(ZIG);
    assert.equal(await zig.call("hostAdd", [40, 2]), 42);
    const c = await host.loadWasm(CONFORMANCE, { stubMissingImports: true });
    assert.equal(await c.call("and_back", 41), 42);
    assert.equal(await c.call("half_async", 84), 42);
    // callSync cannot wait: an async host function fails the call (HFN-10).
    assert.equal((() => { try { lua.callSync("get", "/b"); } catch (e) { return e.kind; } })(), "hostFunction");
    // A host function defined without types cannot serve a bincode plugin.
    host.define("env", "mystery_number", (x) => x);
    const untyped = await host.loadWasm(CONFORMANCE, { stubMissingImports: true });
    await rejects(untyped.call("and_back", 1), "hostFunction");
  } finally {
    server.close();
  }
});

test("a throwing JS host function is a hostFunction error; the host goes on (HFN-04)", async () => {
  const host = new PluginHost();
  const throws = [
    () => { throw new TypeError("bad type"); },
    () => { throw "a string"; },
    () => { throw undefined; },
    () => { throw { toString() { throw new Error("nope"); } }; },
    async () => { throw new RangeError("async"); },
  ];
  throws.forEach((f, i) => host.define("bad", `f${i}`, f));
  const lua = await host.loadLua("caller", "function call(i) return bad['f' .. i]() end\nfunction ok() return 'ok' end");
  for (let i = 0; i < throws.length; i++) {
    const e = await rejects(lua.call("call", i), "hostFunction");
    assert.equal(e.namespace, "bad");
    assert.equal(e.function, `f${i}`);
    assert.equal(await lua.call("ok"), "ok");
  }
  const e = await rejects(lua.call("call", 0), "hostFunction");
  assert.match(e.message, /bad type/);
});

test("a host function returning the wrong type is an error, not a crash (HFN-05)", async () => {
  const host = new PluginHost();
  host.define("env", "mystery_number", () => ({ not: "a number" }), "(u32) -> u32");
  const c = await host.loadWasm(CONFORMANCE, { stubMissingImports: true });
  await rejects(c.call("and_back", 1), "hostFunction");
  host.define("env", "mystery_number", () => NaN, "(u32) -> u32");
  const d = await host.loadWasm(CONFORMANCE, { stubMissingImports: true });
  await rejects(d.call("and_back", 1), "hostFunction");
});

test("re-entering a plugin from its own host function is busy, not poisoned (HFN-06)", async () => {
  const host = new PluginHost();
  let plugin;
  host.define("host", "reenter", () => plugin.callSync("ok"));
  plugin = await host.loadLua("self", "function go() return host.reenter() end\nfunction ok() return 1 end");
  await rejects(plugin.call("go"), "hostFunction");
  assert.equal(await plugin.call("ok"), 1);
});

test("calls yield to the event loop between fuel slices", async () => {
  const host = new PluginHost({ fuelSlice: 200_000 });
  const perf = await host.loadWasm(PERF);
  const lua = await host.loadLua("perf", LUA_PERF);
  for (const [p, fn] of [[perf, "sum"], [lua, "sum"]]) {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const result = await p.call(fn, 2_000_000);
    clearInterval(timer);
    assert.equal(result, 2_000_001_000_000);
    assert.ok(ticks > 0, `${p.abi}: timers ran during the call (${ticks})`);
  }
});

test("main.lua runs in fuel slices too: the event loop goes on; its failures reject the load", async () => {
  const host = new PluginHost({ fuelSlice: 200_000 });
  host.define("cfg", "fail", async () => {
    throw new Error("no config");
  });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const p = await host.loadLua("slow", "local n = 0 for i = 1, 1000000 do n = n + i end\nfunction total() return n end");
  clearInterval(timer);
  assert.ok(ticks > 0, `timers ran while main.lua ran (${ticks})`);
  assert.equal(await p.call("total"), 500_000_500_000);
  await rejects(host.loadLua("down", "local c = cfg.fail()\nfunction f() end"), "hostFunction");
  await rejects(host.loadLua("spin", "while true do end"), "outOfFuel");
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 5);
  await rejects(host.loadLua("spin", "while true do end", { signal: ac.signal }), "cancelled");
  await rejects(host.loadLua("spin", "x = 1", { signal: AbortSignal.abort() }), "cancelled");
  assert.equal(await p.call("total"), 500_000_500_000);
});

test("an AbortSignal cancels between slices; the plugin answers the next call", async () => {
  const host = new PluginHost();
  const perf = await host.loadWasm(PERF);
  const ac = new AbortController();
  const running = perf.call("sum", 1e12, { signal: ac.signal });
  setTimeout(() => ac.abort(), 10);
  await rejects(running, "cancelled");
  await rejects(perf.call("sum", 1, { signal: AbortSignal.abort() }), "cancelled");
  assert.equal(await perf.call("add", [1, 2]), 3);
});

test("limits and plugin failures are errors of their own kind (RES-01; wasm RES-03/05 in stress.test.mjs)", async () => {
  const host = new PluginHost({ fuel: 5_000_000, memoryBytes: 4 << 20 });
  const perf = await host.loadWasm(PERF);
  const e = await rejects(perf.call("sum", 1e12), "outOfFuel");
  assert.equal(e.budget, 5_000_000);
  const lua = await host.loadLua("bad", `
    function loop() while true do end end
    function deep(n) return deep(n + 1) + 1 end
    function boom() error("boom") end
    function grow() local t = {} for i = 1, 1e9 do t[i] = string.rep("x", 1000) .. i end end`);
  await rejects(lua.call("loop"), "outOfFuel");
  await rejects(lua.call("deep", 1), "luaError");
  await rejects(lua.call("boom"), "luaError");
  await rejects(lua.call("grow"), "memoryLimit");
  await rejects(lua.call("nope"), "unknownFunction");
  await assert.rejects(host.loadLua("syntax", "function ("), (err) => err.kind === "luaSyntax" && err.line === 1);
  await rejects(host.loadWasm(new Uint8Array([0, 97, 115, 109, 9])), "invalidModule");
  await rejects(host.loadWasm(new Uint8Array([1, 2, 3])), "invalidModule");
  // A call while another is in flight on the same plugin waits its turn (issue 17 item 14);
  // a synchronous one cannot wait, so it is busy.
  const first = perf.call("sum", 3_000_000).catch((e) => e.kind);
  const second = perf.call("add", [1, 2]);
  await new Promise((r) => setImmediate(r));
  assert.throws(() => perf.callSync("add", [1, 2]), (e) => e.kind === "busy");
  assert.equal(await second, 3);
  assert.equal(await first, "outOfFuel");
  assert.equal(await perf.call("add", [1, 2]), 3);
});

test("plugins call each other: expose, setLuaVm, nvim lua_eval; kept across a crash", async () => {
  const host = new PluginHost();
  host.define("host", "add", (a, b) => a + b);
  const zig = await host.loadWasm(ZIG, { name: "zig" });
  const vm = await host.loadLua("vm", "function greet(who) return 'hello ' .. who end");
  host.expose(zig);
  host.setLuaVm(vm);
  const caller = await host.loadLua("caller", "function go() local t = plugins.zig.returning() return #t.list, plugins.zig.luaEvalExample().greeting end");
  assert.deepEqual(await caller.call("go"), [3, "hello zig"]);
  // A host function defined later rebuilds the host inside; exposure carries over.
  host.define("extra", "noop", () => null);
  const later = await host.loadLua("later", "function go() return plugins.zig.echo('x') end");
  assert.equal(await later.call("go"), "x");
  assert.throws(() => __abortForTesting("crash"), (e) => e.kind === "runtimeCrashed");
  assert.deepEqual(await caller.call("go"), [3, "hello zig"]);
});

test("lifecycle calls a function on every Lua plugin in name order", async () => {
  const host = new PluginHost();
  const order = [];
  host.define("log", "say", (s) => { order.push(s); });
  await host.loadLua("b", "function update(n) log.say('b' .. n) return n + 1 end");
  await host.loadLua("a", "function update(n) log.say('a' .. n) return n + 2 end");
  await host.loadLua("c", "function other() end");
  assert.deepEqual(await host.lifecycle("update", 1), { a: 3, b: 2 });
  assert.deepEqual(order, ["a1", "b1"]);
});

test("logs reach the listener", async () => {
  const host = new PluginHost();
  const events = [];
  host.onLog((e) => events.push(e));
  const lua = await host.loadLua("talker", "function hi() print('hi there') end");
  await lua.call("hi");
  assert.deepEqual(events, [{ plugin: "talker", stream: "stdout", message: "hi there\n" }]);
});

test("close and Symbol.dispose unload; values map exactly (JSN-07)", async () => {
  const host = new PluginHost();
  const lua = await host.loadLua("v", "function id(...) return ... end");
  assert.deepEqual(await lua.call("id", [[1, 2.5, "s", true, null]]), [1, 2.5, "s", true]);
  assert.equal(await lua.call("id", [2n ** 60n]), 2n ** 60n);
  assert.deepEqual(await lua.call("id", [new Uint8Array([0, 255])]), new Uint8Array([0, 255]));
  const cyclic = {};
  cyclic.self = cyclic;
  await rejects(lua.call("id", [cyclic]), "encode");
  lua.close();
  assert.equal(lua.closed, true);
  await assert.rejects(lua.call("id", 1), (e) => e instanceof PluginError && e.kind === "closed" && e.plugin === lua.name);
  const dispose = Symbol.dispose ?? Symbol.for("Symbol.dispose");
  const p = await host.loadLua("scoped", "function f() return 1 end");
  assert.equal(await p.call("f"), 1);
  p[dispose](); // what `using p = …` does at the end of its block
  assert.equal(p.closed, true);
  assert.ok(Plugin.prototype[dispose]);
});

test("integers at the JS boundary: i64 extremes and 2^53 ± 1 survive both ways, through a JS host function too (DAT-08)", async () => {
  const host = new PluginHost();
  host.define("js", "echo", (v) => v);
  const lua = await host.loadLua("ints", "function id(x) return x end function via(x) return js.echo(x) end function kind(x) return math.type(x) end");
  // Safe integers are numbers; beyond ±(2^53 - 1) a Lua integer is a bigint, exactly.
  for (const v of [2 ** 53 - 1, -(2 ** 53 - 1), 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n)]) {
    for (const f of ["id", "via"]) assert.equal(await lua.call(f, v), v, `${f}(${v})`);
    assert.equal(await lua.call("kind", v), "integer", `${v}`);
  }
  // A JS number that is not a safe integer is a float, as JS holds it.
  assert.equal(await lua.call("kind", 2 ** 53), "float");
  // Past i64, a bigint becomes a float, as Lua reads an integer literal that overflows.
  assert.equal(await lua.call("kind", 2n ** 64n - 1n), "float");
  assert.equal(await lua.call("id", 2n ** 64n - 1n), 2 ** 64);
  await rejects(lua.call("id", 2n ** 64n), "encode");
  host.close();
});

test("a runtime crash rebuilds the runtime and reloads the plugins (HFN-03)", async () => {
  const host = new PluginHost();
  host.define("math", "add", (a, b) => a + b);
  host.define("cfg", "start", async () => 0);
  const lua = await host.loadLua("calc", "count = cfg.start()\nfunction bump() count = count + 1 return math.add(count, 100) end");
  const perf = await host.loadWasm(PERF);
  assert.equal(await lua.call("bump"), 101);
  assert.equal(await lua.call("bump"), 102);
  const inFlight = perf.call("sum", 50_000_000).catch((e) => e.kind);
  await new Promise((r) => setImmediate(r));
  assert.throws(() => __abortForTesting("test crash"), (e) => e.kind === "runtimeCrashed");
  assert.equal(await inFlight, "runtimeCrashed");
  // Reloaded: state starts afresh, host functions are there again.
  assert.equal(await lua.call("bump"), 101);
  assert.equal(await perf.call("add", [2, 3]), 5);
  const fresh = await host.loadLua("fresh", "function f() return 'ok' end");
  assert.equal(await fresh.call("f"), "ok");
});

test("Lua 5.4 in the package as natively: our parser, lowering and piccolo patches on wasm32", async () => {
  const host = new PluginHost();
  const cases = [
    ["local a, i = {'y'}, 1 return 'x' .. a[i]", "xy"],
    ["local s = 'abc' return s:upper() .. ('%d'):format(7)", "ABC7"],
    ["local x <const> = 2 return x * 21", 42],
    ["local log = {} do local c <close> = setmetatable({}, {__close = function() log[#log + 1] = 'closed' end}) end return log[1]", "closed"],
    ["return select('#', select(2^32 + 1, 'a', 'b'))", 0],
    ["return (pcall(select, math.mininteger, 'a'))", false],
    ["return math.type('10' + 1)", "integer"],
    ["local v = setmetatable({}, {__add = function() return 5 end}) return v + 1", 5],
    ["local ok, e = pcall(function() local t return t.x end) return e", "[string \"local ok, e = pcall(function() local t return...\"]:1: attempt to index a nil value (local 't')"],
    ["local function r() return 1 + r() end local ok, e = pcall(r) return (e:gsub('^.*: ', ''))", "stack overflow"],
    ["return #string.pack('>i16', -3)", 16],
    ["return load('return ...')(4)", 4],
  ];
  const p = await host.loadLua("lua54", "function run(src) return load(src)() end");
  for (const [src, expected] of cases) {
    assert.deepEqual(await p.call("run", src), expected, src);
  }
});

test("errors say what happened: unknownFunction everywhere, closed, invalidOption, cause, code (issue 17 item 5)", async () => {
  const host = new PluginHost();
  // Every ABI: unknownFunction, listing the exports (bincode plugins said `encode`).
  const perf = await host.loadWasm(PERF);
  const e1 = await rejects(perf.call("nope"), "unknownFunction");
  assert.ok(e1.exports.includes("sum") && /its functions: /.test(e1.message), e1.message);
  host.define("extism:host/user", "shout", (b) => b.text());
  host.define("extism:host/user", "add", () => ({ sum: 0 }));
  const kitchen = await host.loadWasm(KITCHEN);
  assert.ok((await rejects(kitchen.call("nope"), "unknownFunction")).exports.includes("count_vowels"));
  const lua = await host.loadLua("l", "function hello() return 1 end");
  assert.ok((await rejects(lua.call("nope"), "unknownFunction")).exports.includes("hello"));
  // The Extism return code is a property.
  const failed = await rejects(kitchen.call("fail", "went wrong"), "callFailed");
  assert.equal(failed.code, -1); // extism-pdk's code for an error it reports
  assert.equal((await rejects(kitchen.call("code"), "callFailed")).code, 7);
  // A JS host function's thrown value is the cause; an AbortSignal's reason too.
  const thrown = new RangeError("out of range");
  host.define("env", "boom", () => {
    throw thrown;
  });
  host.define("env", "later", async () => {
    throw thrown;
  });
  const caller = await host.loadLua("c", "function go() return env.boom() end\nfunction go2() return env.later() end");
  assert.equal((await rejects(caller.call("go"), "hostFunction")).cause, thrown);
  assert.equal((await rejects(caller.call("go2"), "hostFunction")).cause, thrown);
  const controller = new AbortController();
  controller.abort("user left");
  assert.equal((await rejects(perf.call("sum", 10, { signal: controller.signal }), "cancelled")).cause, "user left");
  // Bad and unknown options are invalidOption, naming the option.
  assert.throws(() => new PluginHost({ fuel: -1 }), (e) => e instanceof PluginError && e.kind === "invalidOption" && e.option === "fuel");
  assert.throws(() => new PluginHost({ fule: 1 }), (e) => e.kind === "invalidOption" && e.option === "fule");
  assert.throws(() => new PluginHost({ logLevel: "loud" }), (e) => e.kind === "invalidOption" && e.option === "logLevel");
  await rejects(host.loadWasm(PERF, { stubMissingImport: true }), "invalidOption");
  await rejects(host.loadWasm(PERF, { abi: "nope" }), "invalidOption");
  await rejects(host.loadLua("x", "", { nmae: "x" }), "invalidOption");
  await rejects(perf.call("add", [1, 2], { sginal: null }), "invalidOption");
  await rejects(host.loadManifest({ wasm: [{ data: new Uint8Array(KITCHEN) }] }, { fuel: 1 }), "invalidOption");
  // A missing Lua VM names the JS method.
  const zig = await host.loadWasm(ZIG);
  const noVm = await rejects(zig.call("luaExecExample"), "peer");
  assert.match(noVm.message, /PluginHost\.setLuaVm/);
  // Closed plugins and hosts say closed.
  lua.close();
  await rejects(lua.call("hello"), "closed");
  host.close();
  await rejects(host.loadLua("y", ""), "closed");
  await rejects(host.loadWasm(PERF), "closed");
  // The class is exported: errors made by the wrapper are instances too.
  assert.ok(new PluginError("m", "busy") instanceof Error);
});

test("Extism log levels below info reach onLog when asked (issue 17 item 7)", async () => {
  const levelsOf = async (hostOptions, loadOptions) => {
    const host = new PluginHost(hostOptions);
    const seen = [];
    host.onLog((e) => seen.push(e.stream));
    const k = await host.loadWasm(KITCHEN, { stubMissingImports: true, ...loadOptions });
    await k.call("logs", "m");
    host.define("extism:host/user", "shout", (b) => b);
    host.define("extism:host/user", "add", () => null);
    const m = await host.loadManifest({ wasm: [{ data: new Uint8Array(KITCHEN) }] }, loadOptions.logLevel ? { logLevel: loadOptions.logLevel } : {});
    await m.call("logs", "m").catch(() => {});
    return seen;
  };
  assert.deepEqual(await levelsOf({}, {}), ["info", "warn", "error", "info", "warn", "error"]);
  assert.deepEqual(await levelsOf({ logLevel: "trace" }, {}), ["trace", "debug", "info", "warn", "error", "trace", "debug", "info", "warn", "error"]);
  assert.deepEqual(await levelsOf({}, { logLevel: "debug" }), ["debug", "info", "warn", "error", "debug", "info", "warn", "error"]);
  assert.deepEqual(await levelsOf({ logLevel: "trace" }, { logLevel: "off" }), []);
});

test("calls on one plugin queue first in, first out, each with its own signal (issue 17 item 14)", async () => {
  const host = new PluginHost({ fuelSlice: 100_000 });
  const perf = await host.loadWasm(PERF);
  const order = [];
  const controller = new AbortController();
  const calls = [
    perf.call("sum", 300_000).then((v) => order.push(["a", v])),
    perf.call("sum", 10, { signal: controller.signal }).then(
      () => order.push(["b", "ran"]),
      (e) => order.push(["b", e.kind, e.cause]),
    ),
    perf.call("add", [2, 3]).then((v) => order.push(["c", v])),
    perf.call("sum", 20).then((v) => order.push(["d", v])),
  ];
  controller.abort("not needed");
  await Promise.all(calls);
  assert.equal(order[0][0], "b"); // rejected at once, while waiting its turn
  assert.deepEqual(order[0], ["b", "cancelled", "not needed"]);
  assert.deepEqual(order.slice(1).map((o) => o[0]), ["a", "c", "d"]);
  assert.equal(order[2][1], 5);
});
