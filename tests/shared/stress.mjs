// Limits pushed from inside a plugin, on every JS target (Node: tests/node/stress.test.mjs,
// Chromium: tests/browser/cases.js, workerd: tests/edge): deep wasm recursion (RES-03),
// memory.grow until refused (RES-05), plugin → JS host function → plugin re-entry (CON-01),
// deep Lua recursion and pcall nesting; each followed by a call that must still answer on
// the same plugin and a fresh plugin on the same host (the canary). Wasm recursion and
// re-entry inside V8 are where a JS engine's own stack is most at risk.
//
// `pkg` is the package's exports ({ PluginHost }); `stress` the bytes of the fixture
// plugins/rust/stress (target/plugins/wasm32-wasip1/release/stress.wasm).

function eq(actual, expected, what) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

async function failure(promise, kind, what) {
  let error;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  if (!error) throw new Error(`${what}: expected a ${kind} error, got a result`);
  if (error.name !== "PluginError") throw new Error(`${what}: not a PluginError: ${error}`);
  if (error.kind !== kind) throw new Error(`${what}: expected kind ${kind}, got ${error.kind}: ${error.message}`);
  return error;
}

async function canary(host, what) {
  const lua = await host.loadLua("canary", "function f(x) return x + 1 end");
  eq(await lua.call("f", 41), 42, `${what}: canary`);
}

export function stressCases({ PluginHost }, stress) {
  return [
    ["deep wasm recursion is stackOverflow, then the plugin and the host answer (RES-03)", async () => {
      const host = new PluginHost();
      const p = await host.loadWasm(stress, { stubMissingImports: true });
      await failure(p.call("recurse", 0), "stackOverflow", "recurse");
      let kind = null;
      try {
        p.callSync("recurse", 0);
      } catch (e) {
        kind = e.kind;
      }
      eq(kind, "stackOverflow", "recurse (callSync)");
      eq(await p.call("ping"), 7, "ping after recursion");
      await canary(host, "after recursion");
    }],
    ["memory.grow until refused stops at the cap, then the plugin and the host answer (RES-05)", async () => {
      const host = new PluginHost({ memoryBytes: 4 << 20 });
      const p = await host.loadWasm(stress, { stubMissingImports: true });
      const before = await p.call("pages");
      const grown = await p.call("grow_until_refused");
      eq(before + grown, 64, "pages at the 4 MiB cap");
      if (p.memoryBytes > 4 << 20) throw new Error(`memoryBytes ${p.memoryBytes} over the cap`);
      eq(await p.call("ping"), 7, "ping after growth");
      await canary(host, "after growth");
    }],
    ["plugin → JS host function → plugin re-entry stops at the depth limit (CON-01)", async () => {
      const host = new PluginHost();
      const pool = [];
      let deepest = 0;
      host.define("env", "again", (depth) => {
        deepest = Math.max(deepest, depth);
        const next = pool.pop();
        if (!next) throw new Error("no instance left");
        return next.callSync("reenter", depth);
      }, "(u32) -> u32");
      const p = await host.loadWasm(stress);
      for (let i = 0; i < 40; i++) pool.push(await host.loadWasm(stress));
      const e = await failure(p.call("reenter", 0), "hostFunction", "reenter");
      if (!/re-entrancy depth/.test(e.message)) throw new Error(`reenter: ${e.message}`);
      if (deepest < 2 || pool.length === 0) throw new Error(`re-entry went ${deepest} deep, ${pool.length} instances left`);
      eq(await p.call("ping"), 7, "ping after re-entry");
      await canary(host, "after re-entry");
    }],
    ["deep Lua recursion and pcall nesting end as errors, then the plugin and the host answer", async () => {
      const host = new PluginHost({ fuel: 50_000_000 });
      const lua = await host.loadLua("deep", `
        function deep(n) return deep(n + 1) + 1 end
        function nested(n) local ok, r = pcall(nested, n + 1) if ok then return r end return n end
        function caught() local ok, e = pcall(deep, 1) return ok, type(e) end
        function ping() return 7 end`);
      const e = await failure(lua.call("deep", 1), "luaError", "deep");
      if (!/stack overflow/.test(e.message)) throw new Error(`deep: ${e.message}`);
      eq(await lua.call("caught"), [false, "string"], "pcall(deep)");
      const depth = await lua.call("nested", 1);
      if (!(typeof depth === "number" && depth > 100)) throw new Error(`pcall nesting stopped at ${depth}`);
      eq(await lua.call("ping"), 7, "ping after Lua recursion");
      await canary(host, "after Lua recursion");
    }],
  ];
}
