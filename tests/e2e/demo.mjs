// End-to-end test of the demo page (www/) in Debian's Chromium through playwright-core: the
// performance loop agrees in every engine, Stop cancels a long run while the page stays
// responsive, the playground loads and calls example plugins. Screenshots go to target/e2e/.
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
  page.on("request", (r) => { if (!r.url().startsWith(url)) external.push(r.url()); });
  page.on("pageerror", (e) => console.log(`[page error] ${e.message}`));
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
} finally {
  await browser.close();
  server.close();
}
console.log(`screenshots: ${join("target", "e2e")}/`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
