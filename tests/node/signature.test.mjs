// The signature language's named structs and enums, as a package user writes them in the
// `signature` option (the same parser as `plugboard call --sig` and `Signature::parse`).
// fixed_demo is a wasmer-plugin style plugin that embeds no signatures.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import init, { PluginHost, PluginError } from "plugboard";

const root = fileURLToPath(new URL("../../", import.meta.url));
const FIXED = readFileSync(root + "target/plugins/wasm32-wasip1/release/fixed_demo.wasm");
await init();

// The plugin's own type, pasted as Rust source (derive attributes and `pub` included).
const THING = `
  #[derive(Serialize, Deserialize)]
  pub struct Thing { pub one: u32, pub two: String, pub three: Vec<u8> }
`;

test("a named struct is a JSON object by field name, both ways", async () => {
  const host = new PluginHost();
  const plugin = await host.loadWasm(FIXED);
  const out = await plugin.call("interact", { one: 1, two: "a", three: [7] }, {
    signature: `${THING} (Thing) -> Thing`,
  });
  assert.deepEqual(out, { one: 2, two: "a!", three: [7, 1] });
  // The same in callSync.
  const again = plugin.callSync("interact", { one: 5, two: "", three: [] }, {
    signature: `${THING} (Thing) -> Thing`,
  });
  assert.deepEqual(again, { one: 6, two: "!", three: [0] });
});

test("a tuple struct is an array; an enum is its variant by name", async () => {
  const host = new PluginHost();
  const plugin = await host.loadWasm(FIXED);
  assert.deepEqual(
    await plugin.call("interact", [1, "b", []], { signature: "struct T(u32, String, Vec<u8>); (T) -> T" }),
    [2, "b!", [0]],
  );
  // `double` of variant index 2 is index 4: the wire is the u32 variant index.
  assert.equal(await plugin.call("double", "C", { signature: "enum L { A, B, C, D, E } (L) -> L" }), "E");
});

test("values that do not fit a declaration, and bad declarations, are errors of their kind", async () => {
  const host = new PluginHost();
  const plugin = await host.loadWasm(FIXED);
  const missing = await plugin
    .call("interact", { one: 1, two: "a" }, { signature: `${THING} (Thing) -> Thing` })
    .then(() => assert.fail("a missing field must be refused"), (e) => e);
  assert.ok(missing instanceof PluginError);
  assert.equal(missing.kind, "encode", missing.message);
  assert.match(missing.message, /three/);
  const unknownVariant = await plugin
    .call("double", "Z", { signature: "enum L { A, B } (L) -> L" })
    .then(() => assert.fail("an unknown variant must be refused"), (e) => e);
  assert.equal(unknownVariant.kind, "encode", unknownVariant.message);
  const recursive = await plugin
    .call("interact", {}, { signature: "struct Tree { kids: Vec<Tree> } (Tree) -> Tree" })
    .then(() => assert.fail("a recursive type must be refused"), (e) => e);
  assert.equal(recursive.kind, "decode", recursive.message);
  // The plugin is unharmed.
  assert.deepEqual(
    await plugin.call("interact", [1, "c", []], { signature: "struct T(u32, String, Vec<u8>); (T) -> T" }),
    [2, "c!", [0]],
  );
});
