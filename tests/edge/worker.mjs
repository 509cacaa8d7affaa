// A Cloudflare Worker (run by workerd in tests/edge/edge.test.mjs) that runs tenant plugins
// sent in the request body, at request time, under a fuel budget: Lua source (POST /lua) or
// wasm bytes (POST /wasm). workerd forbids compiling wasm at request time; plugboard interprets
// it, so this works where V8-based plugin SDKs cannot.
import wasmModule from "./plugboard_bg.wasm";
import { initSync, PluginHost } from "./index.js";
import { stressCases } from "./stress.mjs";

initSync({ module: wasmModule });

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/native-compile") {
      // What V8-based SDKs would need: compiling request-time bytes. Expected to be blocked.
      try {
        await WebAssembly.compile(new Uint8Array(await request.arrayBuffer()));
        return Response.json({ blocked: false });
      } catch (e) {
        return Response.json({ blocked: true, message: String(e.message) });
      }
    }
    if (url.pathname === "/stress") {
      // The stress cases every JS target runs (tests/shared/stress.mjs), on the fixture sent
      // in the body: one result per case.
      const stress = new Uint8Array(await request.arrayBuffer());
      const results = [];
      for (const [name, run] of stressCases({ PluginHost }, stress)) {
        try {
          await run();
          results.push({ name, ok: true });
        } catch (e) {
          results.push({ name, ok: false, error: String(e?.message ?? e) });
        }
      }
      return Response.json(results);
    }
    const fuel = Number(url.searchParams.get("fuel") ?? 20_000_000);
    const host = new PluginHost({ fuel, memoryBytes: 8 << 20 });
    host.define("math", "add", (a, b) => a + b);
    host.define("net", "later", async (x) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return x;
    });
    try {
      const fn = url.searchParams.get("fn");
      const input = JSON.parse(url.searchParams.get("input") ?? "null");
      const plugin =
        url.pathname === "/lua"
          ? await host.loadLua("tenant", await request.text())
          : await host.loadWasm(new Uint8Array(await request.arrayBuffer()), { stubMissingImports: true });
      const result = await plugin.call(fn, input);
      return Response.json({ ok: true, abi: plugin.abi, result, fuel: plugin.fuelConsumed });
    } catch (e) {
      return Response.json({ ok: false, name: e.name, kind: e.kind, message: e.message });
    } finally {
      host.close();
    }
  },
};
