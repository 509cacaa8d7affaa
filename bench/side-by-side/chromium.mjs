// The side-by-side workloads in headless Chromium (Debian's, driven by playwright-core); prints
// the JSON results like node.mjs.
import { launchChromium, serve } from "../../scripts/serve.mjs";

const mounts = [["/pkg/", "target/npm/plugboard/"], ["/plugins/", "target/plugins/"], ["/node_modules/", "bench/node_modules/"], ["/", "bench/side-by-side/"]];
// Cross-origin isolated (COOP/COEP): otherwise Chromium clamps performance.now() to 100 µs and
// small-call figures come out as multiples of 0.5 µs. The page checks it is isolated.
const isolation = { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" };
const server = await serve(0, mounts, () => false, isolation);
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  page.on("console", (m) => process.stderr.write(`[chromium] ${m.text()}\n`));
  const rounds = Number(process.env.ROUNDS ?? 15);
  await page.goto(`http://127.0.0.1:${server.address().port}/page.html?rounds=${rounds}`);
  await page.waitForFunction(() => window.benchResult, null, { timeout: 900_000, polling: 500 });
  const result = await page.evaluate(() => window.benchResult);
  if (result.error) throw new Error(result.error);
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
  server.close();
}
