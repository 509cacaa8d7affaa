// Serves the package (target/npm/plugboard at /pkg), the plugin fixtures (target/plugins at
// /fixtures), the cases shared by every JS target (tests/shared at /shared) and tests/browser on 127.0.0.1, opens the test page in Debian's Chromium through
// playwright-core, prints each case and "N passed, N failed". Exit code 1 on failure.
import { launchChromium, serve } from "../../scripts/serve.mjs";

const mounts = [
  ["/pkg/", "target/npm/plugboard/"],
  ["/fixtures/", "target/plugins/"],
  ["/shared/", "tests/shared/"],
  ["/", "tests/browser/"],
];
const echo = (path, res) => path.startsWith("/echo/") && (res.end(path.slice("/echo/".length)), true);
const server = await serve(0, mounts, echo);
const url = `http://127.0.0.1:${server.address().port}/`;
const browser = await launchChromium();
let passed = 0;
let failed = 0;
try {
  const page = await browser.newPage();
  const external = [];
  page.on("request", (r) => { if (!r.url().startsWith(url)) external.push(r.url()); });
  page.on("pageerror", (e) => console.log(`[page error] ${e.message}`));
  await page.goto(url);
  await page.waitForFunction(() => Array.isArray(window.results), null, { timeout: 120_000 });
  for (const r of await page.evaluate(() => window.results)) {
    console.log(`${r.ok ? "ok" : "not ok"} - chromium: ${r.name}${r.ok ? "" : `\n  ${r.error}`}`);
    r.ok ? passed++ : failed++;
  }
  if (external.length) {
    console.log(`not ok - the page made requests off 127.0.0.1: ${external.join(", ")}`);
    failed++;
  }
} catch (e) {
  console.log(`not ok - chromium: the page did not finish: ${e.message}`);
  failed++;
} finally {
  await browser.close();
  server.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
