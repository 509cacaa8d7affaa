// The side-by-side workloads (issue 7; the same module in Node and in the browser):
//   W1 the performance loop, sum 1..N;
//   W2 a small call (add 1 + 2) and a 64-byte string round trip;
//   W3 cold start: load a plugin and make its first call.
// Each contender is `async () => result`; `expected` checks every result of every round. Both
// Extism hosts get the same 64-byte input and the same host functions. Peers: wasmoon
// (PUC Lua 5.4 in wasm), fengari (Lua 5.3 in JS), @extism/extism (Extism plugins on V8's
// WebAssembly), V8's own WebAssembly running our plugin .wasm, and plain JavaScript.
export const N = 1_000_000;
const S64 = "x".repeat(64);

/** The buffer-ABI plugin run by the engine's own WebAssembly, the ABI done by hand. */
async function nativeBuffer(bytes) {
  const stubs = {};
  for (const imp of WebAssembly.Module.imports(await WebAssembly.compile(bytes))) {
    if (imp.kind === "function") (stubs[imp.module] ??= {})[imp.name] = () => 0;
  }
  const { instance } = await WebAssembly.instantiate(bytes, stubs);
  const e = instance.exports;
  const call = (fn, payload) => {
    const ptr = e.__alloc_buffer(payload.length);
    new Uint8Array(e.memory.buffer, ptr, payload.length).set(payload);
    const packed = e[fn]((BigInt(ptr) << 32n) | BigInt(payload.length));
    const out = Number(packed >> 32n);
    const len = Number(packed & 0xffffffffn);
    return new Uint8Array(e.memory.buffer, out, len);
  };
  const u64 = (n) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
    return b;
  };
  return {
    sum: (n) => Number(new DataView(call("__sum", u64(n)).slice().buffer).getBigUint64(0, true)),
    add: (a, b) => {
      const p = new Uint8Array(8);
      new DataView(p.buffer).setInt32(0, a, true);
      new DataView(p.buffer).setInt32(4, b, true);
      return new DataView(call("__add", p).slice().buffer).getInt32(0, true);
    },
    echo: (s) => {
      const text = new TextEncoder().encode(s);
      const p = new Uint8Array(8 + text.length);
      new DataView(p.buffer).setBigUint64(0, BigInt(text.length), true);
      p.set(text, 8);
      return new TextDecoder().decode(call("__echo", p).slice(8));
    },
  };
}

/** fengari: Lua 5.3 in JavaScript, with its C-like API. */
function fengariState(fengari, source) {
  const { lua, lauxlib, lualib, to_luastring, to_jsstring } = fengari;
  const L = lauxlib.luaL_newstate();
  lualib.luaL_openlibs(L);
  if (lauxlib.luaL_dostring(L, to_luastring(source)) !== lua.LUA_OK) throw new Error(to_jsstring(lua.lua_tostring(L, -1)));
  const call = (name, args, read) => {
    lua.lua_getglobal(L, to_luastring(name));
    for (const a of args) typeof a === "string" ? lua.lua_pushstring(L, to_luastring(a)) : lua.lua_pushnumber(L, a);
    lua.lua_call(L, args.length, 1);
    const v = read(L);
    lua.lua_pop(L, 1);
    return v;
  };
  return {
    num: (name, ...args) => call(name, args, (L) => lua.lua_tonumber(L, -1)),
    str: (name, ...args) => call(name, args, (L) => to_jsstring(lua.lua_tostring(L, -1))),
  };
}

// Lua sources: the perf loop accumulates in a float so that fengari (32-bit integers) and the
// others compute the same exact sum below 2^53.
export const LUA = `function sum(n) local s = 0.0 for i = 1, n do s = s + i end return s end
function add(a, b) return a + b end
function echo(s) return s end`;
export const LUA_200 = Array.from({ length: 200 }, (_, i) => `function f${i}(x) return x + ${i} end`).join("\n");

export async function setup(env) {
  const { PluginHost } = env.plugboard;
  const host = new PluginHost({ fuel: 1_000_000_000 });
  // The kitchen plugin's host functions, where the official SDK puts them too.
  const defineKitchen = (h) => {
    h.define("extism:host/user", "shout", (b) => b.text());
    h.define("extism:host/user", "add", (b) => b.text());
  };
  defineKitchen(host);
  const pbWasm = await host.loadWasm(env.bytes.perf);
  const pbLua = await host.loadLua("bench", LUA);
  const pbKitchen = await host.loadWasm(env.bytes.kitchen);
  const factory = env.wasmoonUri ? new env.LuaFactory(env.wasmoonUri) : new env.LuaFactory();
  const wasmoon = await factory.createEngine();
  await wasmoon.doString(LUA);
  const [wSum, wAdd, wEcho] = ["sum", "add", "echo"].map((f) => wasmoon.global.get(f));
  const fen = fengariState(env.fengari, LUA);
  const extismOptions = {
    useWasi: false,
    runInWorker: false,
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    functions: { "extism:host/user": { shout: (p, h) => p.store(p.read(h).text()), add: (p, h) => p.store(p.read(h).text()) } },
  };
  const extism = await env.createPlugin({ wasm: [{ data: env.bytes.kitchen }] }, extismOptions);
  const native = await nativeBuffer(env.bytes.perf);
  const bytes64 = new TextEncoder().encode(S64);
  const plainSum = (n) => {
    let s = 0;
    for (let i = 1; i <= n; i++) s += i;
    return s;
  };
  // The kitchen plugin with a custom section holding a counter: the same code, bytes never
  // seen before, so neither plugboard's module cache nor V8's native module cache has them.
  let fresh = 0;
  const newBytes = () => {
    const n = fresh++;
    const tag = new Uint8Array([0, 8, 3, 116, 97, 103, n & 255, (n >> 8) & 255, (n >> 16) & 255, n >>> 24]);
    const out = new Uint8Array(env.bytes.kitchen.length + tag.length);
    out.set(env.bytes.kitchen);
    out.set(tag, env.bytes.kitchen.length);
    return out;
  };
  const cold = async (f) => {
    const t0 = performance.now();
    await f();
    return performance.now() - t0;
  };
  return {
    W1: {
      label: `perf loop: sum 1..${N.toLocaleString("en")}`,
      expected: (N * (N + 1)) / 2,
      batch: 1,
      contenders: {
        "plugboard wasm (Rust plugin)": () => pbWasm.call("sum", N),
        "plugboard Lua": () => pbLua.call("sum", N),
        wasmoon: async () => wSum(N),
        fengari: async () => fen.num("sum", N),
        "V8 WebAssembly (same .wasm)": async () => native.sum(N),
        "plain JS": async () => plainSum(N),
      },
    },
    W2add: {
      label: "small call: add(1, 2)",
      expected: 3,
      batch: 200,
      contenders: {
        "plugboard wasm await call": () => pbWasm.call("add", [1, 2]),
        "plugboard wasm callSync": async () => pbWasm.callSync("add", [1, 2]),
        "plugboard Lua await call": () => pbLua.call("add", [1, 2]),
        "plugboard Lua callSync": async () => pbLua.callSync("add", [1, 2]),
        wasmoon: async () => wAdd(1, 2),
        fengari: async () => fen.num("add", 1, 2),
        "V8 WebAssembly (same .wasm)": async () => native.add(1, 2),
      },
    },
    W2str: {
      label: "64-byte string round trip",
      expected: S64,
      batch: 200,
      contenders: {
        "plugboard wasm await call": () => pbWasm.call("echo", S64),
        "plugboard wasm callSync": async () => pbWasm.callSync("echo", S64),
        "plugboard Lua await call": () => pbLua.call("echo", S64),
        wasmoon: async () => wEcho(S64),
        fengari: async () => fen.str("echo", S64),
        "@extism/extism (kitchen echo)": async () => (await extism.call("echo", bytes64)).text(),
        "plugboard Extism (kitchen echo)": async () => (await pbKitchen.call("echo", bytes64)).text(),
        "V8 WebAssembly (same .wasm)": async () => native.echo(S64),
      },
    },
    W3: {
      label: "cold start: load + first call (ms)",
      expected: null,
      batch: 1,
      timesItself: true,
      contenders: {
        "plugboard wasm (160 KB Extism plugin, new bytes)": () => {
          const bytes = newBytes();
          return cold(async () => {
            const h = new PluginHost();
            defineKitchen(h);
            await (await h.loadWasm(bytes)).call("noop", bytes64);
            h.close();
          });
        },
        "@extism/extism (same plugin, new bytes)": () => {
          const bytes = newBytes();
          return cold(async () => {
            const p = await env.createPlugin({ wasm: [{ data: bytes }] }, extismOptions);
            await p.call("noop", bytes64);
            await p.close();
          });
        },
        "plugboard wasm (same bytes again)": () =>
          cold(async () => {
            const h = new PluginHost();
            defineKitchen(h);
            await (await h.loadWasm(env.bytes.kitchen)).call("noop", bytes64);
            h.close();
          }),
        "@extism/extism (same bytes again)": () =>
          cold(async () => {
            const p = await env.createPlugin({ wasm: [{ data: env.bytes.kitchen }] }, extismOptions);
            await p.call("noop", bytes64);
            await p.close();
          }),
        "plugboard Lua (200 lines)": () =>
          cold(async () => {
            const h = new PluginHost();
            await (await h.loadLua("cold", LUA_200)).call("f199", 1);
            h.close();
          }),
        "wasmoon (200 lines)": () =>
          cold(async () => {
            const w = await factory.createEngine();
            await w.doString(LUA_200);
            w.global.get("f199")(1);
            w.global.close();
          }),
        "fengari (200 lines)": () => cold(async () => fengariState(env.fengari, LUA_200).num("f199", 1)),
      },
    },
  };
}

/** Rounds interleaved: each round runs every contender of every workload once (a batch). */
export async function measure(workloads, rounds, log = () => {}) {
  const samples = {};
  // Every result of every call is checked, in the timed rounds too: a contender that stopped
  // working would otherwise look fast.
  const check = (w, spec, name, r) => {
    if (spec.expected !== null && r !== spec.expected && Number(r) !== spec.expected) {
      throw new Error(`${w} ${name}: got ${r}, expected ${spec.expected}`);
    }
  };
  for (const [w, spec] of Object.entries(workloads)) {
    samples[w] = {};
    for (const [name, f] of Object.entries(spec.contenders)) {
      for (let i = 0; i < 1 + Math.min(spec.batch * 5, 1000); i++) check(w, spec, name, await f()); // warm-up
      samples[w][name] = [];
    }
  }
  for (let round = 0; round < rounds; round++) {
    for (const [w, spec] of Object.entries(workloads)) {
      for (const [name, f] of Object.entries(spec.contenders)) {
        if (spec.timesItself) {
          samples[w][name].push(await f());
          continue;
        }
        const t0 = performance.now();
        for (let i = 0; i < spec.batch; i++) check(w, spec, name, await f());
        samples[w][name].push((performance.now() - t0) / spec.batch);
      }
    }
    log(`round ${round + 1}/${rounds}`);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const out = {};
  for (const [w, spec] of Object.entries(workloads)) {
    out[w] = { label: spec.label, ms: Object.fromEntries(Object.entries(samples[w]).map(([k, v]) => [k, median(v)])) };
  }
  return out;
}
