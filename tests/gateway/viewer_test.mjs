// The live page in a real headless Chromium while a real job runs under mpirun with --serve:
//   node viewer_test.mjs PI_JOB NODE_MODULES ARTIFACT_DIR
// Checks that the estimate updates, the chart draws, the workers show and the final result appears; saves
// screenshots (mid-run and final) as test artifacts.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const [job, nodeModules, artifacts] = process.argv.slice(2);
const { chromium } = createRequire(path.join(nodeModules, "x.js"))("playwright-core");
let failures = 0;
const check = (what, ok, detail = "") => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${ok ? "" : ": " + detail}`);
  if (!ok) failures++;
};

const freePort = () => new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
});

const port = await freePort();
const out = fs.mkdtempSync(path.join(os.tmpdir(), "pi-viewer-"));
fs.mkdirSync(artifacts, { recursive: true });
const env = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: "1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: "1",
              OMPI_MCA_rmaps_base_oversubscribe: "1" };
const proc = spawn("mpirun", ["-n", "3", job, "--series", "leibniz", "--terms", "34359738368", "--out", out,
                              "--serve", `127.0.0.1:${port}`, "--linger", "120", "--progress-interval", "0",
                              "--assignment-seconds", "0.3"], { env, stdio: ["ignore", "pipe", "pipe"] });
let log = "";
proc.stderr.on("data", (d) => { log += d; });
proc.stdout.on("data", (d) => { log += d; });

const waitFor = async (pred, seconds, what) => {
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) { if (await pred()) return true; await new Promise((r) => setTimeout(r, 100)); }
  throw new Error(`timed out waiting for ${what}; job log:\n${log}`);
};

let browser;
try {
  await waitFor(() => log.includes("live page:"), 30, "the live page");
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`http://127.0.0.1:${port}/`);
  await waitFor(async () => (await page.textContent("#digits")).startsWith("3.14"), 30, "a first estimate");
  const first = await page.textContent("#terms");
  await waitFor(async () => (await page.textContent("#terms")) !== first, 30, "the estimate to update");
  check("the estimate updates while the job runs", true);
  check("the digits start 3.14159", (await page.textContent("#digits")).startsWith("3.14159"));
  check("the proven digits are marked", (await page.locator("#digits .correct").count()) === 1);
  check("the connection shows live", (await page.textContent("#connection")) === "live");
  await waitFor(async () => (await page.locator("#workers tbody tr").count()) === 2, 20, "two workers in the table");
  check("the workers table lists both workers", true);
  const pct = await page.textContent("#percent");
  check("the progress shows a percentage", /^[0-9.]+%$/.test(pct), pct);
  await waitFor(async () => (await page.locator("#chart canvas").count()) > 0, 20, "the chart");
  check("the convergence chart is drawn (uPlot bundled)", true);
  await page.screenshot({ path: path.join(artifacts, "viewer-running.png"), fullPage: true });

  await waitFor(async () => page.isVisible("#final"), 120, "the final result");
  const final = await page.textContent("#final-digits");
  const summary = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8"));
  check("the final result appears with the job's estimate", final.startsWith(summary.estimate.slice(0, 12)),
        `${final} vs ${summary.estimate}`);
  check("the final facts say complete", (await page.textContent("#final-facts")).includes("status complete"));
  const verification = await page.textContent("#final-verification");
  // This job (leibniz on two workers) is checked by duplicates; a fast series' by fingerprints and BBP.
  const v = summary.verification;
  check("the result says verified, as summary.json does",
        v.verified && verification.startsWith("verified: ") &&
          (!v.bbp.checked || verification.includes(v.bbp.formula_hex_digits)) &&
          (v.duplicates.ranges === 0 || verification.includes(`${v.duplicates.ranges} ranges summed again`)),
        verification);
  check("the connection shows done", (await page.textContent("#connection")) === "done");
  check("no script errors on the page", errors.length === 0, errors.join("; "));
  await page.screenshot({ path: path.join(artifacts, "viewer-done.png"), fullPage: true });
  check("screenshots saved", fs.statSync(path.join(artifacts, "viewer-done.png")).size > 10000);
} catch (e) {
  check("the page run", false, e.message);
} finally {
  if (browser) await browser.close();
  proc.kill("SIGINT");
  await new Promise((r) => proc.on("exit", r));
  fs.rmSync(out, { recursive: true, force: true });
}
console.log(`${failures} failed`);
process.exit(failures ? 1 : 0);
