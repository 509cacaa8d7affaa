// The Lua standard library on wasm32 answers as natively: the npm package runs the Lua test
// scripts of tests/lua, and the reports of tests/lua/probes.lua and tests/lua/errors.lua must
// equal the native engine's line for line (target/lua-probes.txt and target/lua-errors.txt,
// written by the native integration tests `lua_extreme_argument_probes_agree_with_puc_lua` and
// `lua_error_messages_agree_with_puc_lua`, which also compare them with PUC Lua 5.4). On wasm32 `usize` is 32 bits: a Lua integer narrowed to it answers differently.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { PluginHost } from "plugboard";

const root = fileURLToPath(new URL("../../", import.meta.url));
const dir = root + "tests/lua/";

// Each report of tests/lua (`probes`: the standard library at extreme arguments; `errors`:
// runtime error messages with positions and variable names) equals the native engine's.
for (const [name, atLeast] of [["probes", 80], ["errors", 60]]) {
  test(`tests/lua/${name}.lua reports on wasm32 as natively`, async () => {
    const native = readFileSync(root + `target/lua-${name}.txt`, "utf8");
    const host = new PluginHost();
    const plugin = await host.loadLua(name, readFileSync(dir + `${name}.lua`, "utf8"));
    const wasm = await plugin.call("report");
    const differ = wasm
      .split("\n")
      .map((line, i) => [line, native.split("\n")[i]])
      .filter(([a, b]) => a !== b)
      .map(([a, b]) => `package: ${a}\n native: ${b}`);
    assert.deepEqual(differ, []);
    assert.equal(wasm, native);
    assert.ok(wasm.split("\n").length >= atLeast);
    host.close();
  });
}

for (const file of readdirSync(dir).filter((f) => f.endsWith(".lua")).sort()) {
  test(`tests/lua/${file} runs to its end in the package`, async () => {
    const host = new PluginHost();
    await host.loadLua(file.replace(/\.lua$/, ""), readFileSync(dir + file, "utf8"));
    host.close();
  });
}
