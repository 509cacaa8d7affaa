// End-to-end test of the demo page (www/) in Debian's Chromium through playwright-core: the
// performance loop agrees in every engine, Stop cancels a long run while the page stays
// responsive, the playground loads and calls every example plugin; any console error, uncaught
// exception or failed request fails the run. Screenshots go to target/e2e/.
// Prints each check and "N passed, N failed".
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium, serve } from "../../scripts/serve.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
const outDir = join(root, "target/e2e");
mkdirSync(outDir, { recursive: true });

const server = await serve(0);
const url = `http://127.0.0.1:${server.address().port}/`;
const browser = await launchChromium();
let passed = 0;
let failed = 0;
async function check(name, f) {
  try {
    await f();
    passed++;
    console.log(`ok - ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}\n  ${String(e.stack ?? e).split("\n").slice(0, 4).join("\n  ")}`);
  }
}
const assert = (cond, what) => {
  if (!cond) throw new Error(what);
};

try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
  const external = [];
  // Anything the page logs as an error, throws uncaught, or fails to fetch fails the run.
  const problems = [];
  page.on("request", (r) => { if (!r.url().startsWith(url)) external.push(r.url()); });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console error: ${m.text()}`); });
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
  page.on("response", (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  await page.goto(url);
  await page.waitForSelector("body[data-ready=true]", { timeout: 60_000 });

  await check("the performance loop: every engine reports the same correct sum", async () => {
    await page.fill("#n", "300000");
    await page.click("#run");
    await page.waitForSelector("#check[data-result]", { timeout: 60_000 });
    assert((await page.getAttribute("#check", "data-result")) === "equal", await page.textContent("#check"));
    const results = await page.$$eval("#results tbody tr", (rows) => rows.map((r) => r.children[1].textContent));
    assert(results.length === 6, `6 engines, got ${results.length}`);
    assert(results.every((r) => r === "45000150000"), results.join(", "));
    const bars = await page.$$eval("#chart rect", (r) => r.length);
    assert(bars === 6, `a bar per engine, got ${bars}`);
    await page.screenshot({ path: join(outDir, "loop.png"), fullPage: true });
  });

  await check("Stop cancels a long run and the page stays responsive meanwhile", async () => {
    await page.evaluate(() => document.getElementById("check").removeAttribute("data-result"));
    await page.fill("#n", "1000000000");
    await page.click("#run");
    await page.waitForSelector("#progress.running");
    const t0 = Number(await page.textContent("#ticks"));
    await page.waitForTimeout(600);
    const t1 = Number(await page.textContent("#ticks"));
    assert(t1 > t0 + 3, `the UI counter moved while plugboard computed (${t0} → ${t1})`);
    const start = Date.now();
    await page.click("#stop");
    await page.waitForSelector("#check[data-result=stopped]", { timeout: 5_000 });
    console.log(`  (stopped ${Date.now() - start} ms after the click)`);
    assert((await page.textContent("#progress")) === "stopped", "progress says stopped");
    const results = await page.$$eval("#results tbody tr", (rows) => rows.map((r) => r.children[1].textContent));
    assert(results.every((r) => r !== ""), `every engine's row says what happened: ${results.join(" | ")}`);
    assert(results.some((r) => r.startsWith("cancelled")), `the running engine says cancelled: ${results.join(" | ")}`);
    assert(results.at(-1) === "not run: stopped", `the engines after it say not run: ${results.join(" | ")}`);
  });

  // Every example in the playground, with what its first function answers for its input.
  const expected = [
    ["Rust · double", (o) => JSON.parse(o).join() === "3,5"],
    ["Rust · perf", (o) => o === "1229"],
    ["Zig · wasm_nvim examples", (o) => JSON.parse(o).yoo === "YOLO!!"],
    ["Zig · wasm_nvim runs Lua", (o) => JSON.stringify(JSON.parse(o)) === '{"number":42,"greeting":"hello zig"}'],
    ["Zig · wasm_nvim calls a JS host function", (o) => o === "5"],
    ["Zig · perf", (o) => o === "1229"],
    ["Extism · kitchen (", (o) => JSON.parse(o).count === 5],
    ["Extism · kitchen calls JS host functions", (o) => o === "HI 5"],
    ["Lua · report", (o) => o.startsWith(" 1. the")],
    ["Lua · perf", (o) => o === "5050"],
  ];
  const labels = await page.$$eval("#example option", (os) => os.map((o) => o.textContent));
  for (const [i, label] of labels.entries()) {
    await check(`the playground example "${label}" loads and its function answers`, async () => {
      const want = expected.find(([prefix]) => label.startsWith(prefix));
      assert(want, `the test knows what "${label}" answers`);
      await page.evaluate(() => document.getElementById("output").removeAttribute("data-done"));
      await page.selectOption("#example", String(i));
      await page.waitForSelector("#plugin-info[data-state]");
      assert((await page.getAttribute("#plugin-info", "data-state")) === "loaded", await page.textContent("#plugin-info"));
      assert((await page.getAttribute("#plugin-info", "class")) !== "error", "the info box is not red");
      await page.click("#call");
      await page.waitForSelector("#output[data-done]");
      const out = await page.textContent("#output");
      assert((await page.getAttribute("#output", "data-done")) === "ok", out);
      assert(want[1](out), `unexpected output: ${out}`);
      assert(/fuel used: [\d,]+/.test(await page.textContent("#usage")), "fuel shown");
    });
  }
  assert(labels.length === expected.length, `${labels.length} examples, the test knows ${expected.length}`);

  await check("a failed load leaves nothing of the previous plugin live, and a good load clears the error", async () => {
    await page.selectOption("#example", "0");
    await page.waitForSelector("#plugin-info[data-state=loaded]");
    await page.setInputFiles("#upload", { name: "broken.wasm", mimeType: "application/wasm", buffer: Buffer.from([0, 0x61, 0x73, 0x6d, 9, 9, 9, 9]) });
    await page.waitForSelector("#plugin-info[data-state=failed]");
    assert((await page.textContent("#plugin-info")).startsWith("PluginError ["), await page.textContent("#plugin-info"));
    assert(await page.isDisabled("#call"), "Call is disabled");
    assert((await page.$$eval("#exports li", (l) => l.length)) === 0, "no exports listed");
    assert((await page.textContent("#usage")) === "", "no stale usage");
    await page.selectOption("#example", String(labels.findIndex((l) => l.startsWith("Lua · perf"))));
    await page.waitForSelector("#plugin-info[data-state=loaded]");
    assert((await page.getAttribute("#plugin-info", "class")) !== "error", "the info box is no longer red");
  });

  await check("the playground loads an example Lua plugin folder and calls it", async () => {
    const index = await page.$$eval("#example option", (os) => os.findIndex((o) => o.textContent.includes("report")));
    await page.selectOption("#example", String(index));
    await page.waitForSelector("#plugin-info[data-abi=lua]");
    await page.evaluate(() => document.getElementById("output").removeAttribute("data-done"));
    await page.click("#call");
    await page.waitForSelector("#output[data-done]");
    const out = await page.textContent("#output");
    assert(out.startsWith(" 1. the"), out);
    assert(/fuel used: [\d,]+/.test(await page.textContent("#usage")), "fuel shown");
  });

  await check("the playground calls a wasm plugin and shows a typed error", async () => {
    await page.selectOption("#example", "0");
    await page.waitForSelector("#plugin-info[data-abi=buffer]");
    await page.fill("#input", "[1.5, 2.5]");
    await page.evaluate(() => document.getElementById("output").removeAttribute("data-done"));
    await page.click("#call");
    await page.waitForSelector("#output[data-done=ok]");
    assert(JSON.parse(await page.textContent("#output")).join() === "3,5", await page.textContent("#output"));
    await page.fill("#input", '"not a list"');
    await page.evaluate(() => document.getElementById("output").removeAttribute("data-done"));
    await page.click("#call");
    await page.waitForSelector("#output[data-done=error]");
    assert((await page.textContent("#output")).startsWith("PluginError [encode]"), await page.textContent("#output"));
    await page.screenshot({ path: join(outDir, "playground.png"), fullPage: true });
  });

  await check("the page made no requests off 127.0.0.1", async () => {
    assert(external.length === 0, external.join(", "));
  });

  await check("the page logged no console error, threw nothing uncaught and every request succeeded", async () => {
    assert(problems.length === 0, problems.join("\n"));
  });
} finally {
  await browser.close();
  server.close();
}
console.log(`screenshots: ${join("target", "e2e")}/`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
