// The live page in a real headless Chromium while real jobs run, under mpirun with --serve or publishing to
// a real pi-gateway:
//   node viewer_test.mjs PI_JOB PI_GATEWAY NODE_MODULES ARTIFACT_DIR
// Scenarios: a job followed to the end (estimate, chart, workers, state, phase, a phone-width page, a viewer
// that comes after the end and gets the history, the end state kept once the gateway is gone); rank 0
// SIGKILLed (the page says stale); a worker SIGKILLed under --enable-recovery (its row says so at once); the
// tail of a fast series (its phases with their progress); a second job on the same gateway (the page starts afresh). Screenshots are saved as test artifacts.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const [job, gatewayBinary, nodeModules, artifacts] = process.argv.slice(2);
const { chromium } = createRequire(path.join(nodeModules, "x.js"))("playwright-core");
let failures = 0;
const check = (what, ok, detail = "") => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${ok ? "" : ": " + detail}`);
  if (!ok) failures++;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const freePort = () => new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
});

fs.mkdirSync(artifacts, { recursive: true });
const env = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: "1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: "1",
              OMPI_MCA_rmaps_base_oversubscribe: "1" };
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "pi-viewer-"));
const running = new Set();

// A process with its output collected; `exited` resolves with its exit code.
function start(command, args) {
  const proc = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  const p = { proc, log: "" };
  proc.stderr.on("data", (d) => { p.log += d; });
  proc.stdout.on("data", (d) => { p.log += d; });
  p.exited = new Promise((r) => proc.on("exit", (code, signal) => { running.delete(p); r(code ?? signal); }));
  running.add(p);
  return p;
}

const waitFor = async (pred, seconds, what, p = null) => {
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) { if (await pred()) return true; await sleep(100); }
  throw new Error(`timed out waiting for ${what}` + (p ? `; log:\n${p.log}` : ""));
};

// The pid of the pi-job process of MPI rank `rank` whose command line names `out`.
function rankPid(rank, out) {
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, "utf8");
      if (!cmd.includes(out) || !cmd.includes("pi-job")) continue;
      const environ = fs.readFileSync(`/proc/${d}/environ`, "utf8").split("\0");
      if (environ.includes(`OMPI_COMM_WORLD_RANK=${rank}`)) return Number(d);
    } catch { /* gone meanwhile */ }
  }
  return null;
}

const text = (page, sel) => page.textContent(sel);

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const errors = [];
async function newPage(width = 1280, height = 900) {
  const page = await browser.newPage({ viewport: { width, height } });
  page.on("pageerror", (e) => errors.push(String(e)));
  return page;
}

async function scenario(name, body) {
  console.log(`-- ${name}`);
  try {
    await body();
  } catch (e) {
    check(`${name}: ran to the end`, false, e.message);
  } finally {
    for (const p of [...running]) { p.proc.kill("SIGKILL"); await p.exited; }
  }
}

// A job followed from start to end, then by a late viewer, then with the gateway gone.
await scenario("a job followed to the end", async () => {
  const port = await freePort();
  const out = path.join(scratch, "main");
  const p = start("mpirun", ["-n", "3", job, "--series", "leibniz", "--terms", "34359738368", "--out", out,
                             "--serve", `127.0.0.1:${port}`, "--linger", "120", "--progress-interval", "0",
                             "--assignment-seconds", "0.3"]);
  await waitFor(() => p.log.includes("live page:"), 30, "the live page", p);
  const page = await newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  await waitFor(async () => (await text(page, "#digits")).startsWith("3.14"), 30, "a first estimate", p);
  const first = await text(page, "#terms");
  await waitFor(async () => (await text(page, "#terms")) !== first, 30, "the estimate to update", p);
  check("the estimate updates while the job runs", true);
  check("the digits start 3.14159", (await text(page, "#digits")).startsWith("3.14159"));
  check("the proven digits are marked", (await page.locator("#digits .correct").count()) === 1);
  check("the job's state shows running", (await text(page, "#job-state")) === "running");
  check("the phase is the series", (await text(page, "#phase")) === "series");
  check("the elapsed time shows", /^[0-9.]+ s$/.test(await text(page, "#elapsed")), await text(page, "#elapsed"));
  const title = await page.title();
  check("the tab title shows the progress", /^\d+% · pi-hpc$/.test(title), title);
  const now = await page.getAttribute("#bar", "aria-valuenow");
  check("the progress bar is a progressbar with its value", (await page.getAttribute("#bar", "role")) === "progressbar" &&
        Number(now) > 0 && Number(now) <= 100, now);
  check("the bound reads as a power of ten", /^< 10[−-][0-9,]+$/.test(await text(page, "#bound")), await text(page, "#bound"));
  check("the rate has an SI prefix", /^[0-9.]+ [kMGT] terms\/s$/.test(await text(page, "#rate")), await text(page, "#rate"));
  await waitFor(async () => (await page.locator("#workers tbody tr").count()) === 2, 20, "two workers in the table", p);
  check("the workers table lists both workers", true);
  const states = await page.locator("#workers tbody td.w-busy, #workers tbody td.w-idle").count();
  check("each worker's row has its state", states === 2, String(states));
  await waitFor(async () => Number(await page.getAttribute("#chart", "data-points")) >= 2, 20, "two chart points", p);
  await waitFor(async () => (await page.locator("#chart canvas").count()) > 0, 20, "the chart", p);
  check("the convergence chart is drawn (uPlot bundled)", true);
  check("the chart says what it plots for a slow series",
        (await text(page, "#chart-title")).includes("error bounds") &&
        (await text(page, "#chart .u-legend")).includes("partial sum"), await text(page, "#chart-title"));
  await waitFor(async () => Number(await page.getAttribute("#timeline", "data-spans")) >= 2, 20, "the timeline", p);
  const timelineLabel = await page.getAttribute("#timeline", "aria-label");
  check("the timeline shows the evaluations on both workers",
        /on 2 ranks/.test(timelineLabel) && timelineLabel.includes("evaluation") &&
        (await text(page, "#timeline-legend")).includes("evaluation"), timelineLabel);
  await page.screenshot({ path: path.join(artifacts, "viewer-running.png"), fullPage: true });

  // A reload mid-run: the first thing the new page gets (the snapshot) carries the chart so far.
  await waitFor(async () => Number(await page.getAttribute("#chart", "data-points")) >= 8, 30, "eight points", p);
  const beforeReload = Number(await page.getAttribute("#chart", "data-points"));
  await page.reload();
  await waitFor(async () => (await text(page, "#digits")).startsWith("3.14"), 20, "the reloaded page's estimate", p);
  const afterReload = Number(await page.getAttribute("#chart", "data-points"));
  check("a reload mid-run gets the chart so far at once", afterReload >= beforeReload,
        `${afterReload} points after the reload, ${beforeReload} before`);

  const phone = await newPage(390, 844);
  await phone.goto(`http://127.0.0.1:${port}/`);
  await waitFor(async () => (await text(phone, "#digits")).startsWith("3.14"), 30, "the phone page's estimate", p);
  await waitFor(async () => (await phone.locator("#chart canvas").count()) > 0, 20, "the phone page's chart", p);
  const widths = await phone.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  check("at 390 px the page does not scroll sideways", widths[0] <= widths[1], widths.join(" > "));
  await phone.screenshot({ path: path.join(artifacts, "viewer-phone.png"), fullPage: true });
  await phone.close();

  await waitFor(async () => page.isVisible("#final"), 120, "the final result", p);
  const final = await text(page, "#final-digits");
  const summary = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8"));
  check("the final result appears with the job's estimate", final.startsWith(summary.estimate.slice(0, 12)),
        `${final} vs ${summary.estimate}`);
  check("the final facts say complete", (await text(page, "#final-facts")).includes("status complete"));
  const verification = await text(page, "#final-verification");
  // This job (leibniz on two workers) is checked by duplicates; a fast series' by fingerprints and BBP.
  const v = summary.verification;
  check("the result says verified, as summary.json does",
        v.verified && verification.startsWith("verified: ") &&
          (!v.bbp.checked || verification.includes(v.bbp.formula_hex_digits)) &&
          (v.duplicates.ranges === 0 || verification.includes(`${v.duplicates.ranges.toLocaleString("en-US")} ranges summed again`)),
        verification);
  await waitFor(async () => (await text(page, "#job-state")) === "complete", 10, "the state complete", p);
  check("the job's state shows complete", true);
  check("the tab title says complete", (await page.title()) === "complete · pi-hpc", await page.title());
  check("no ETA once the job is done", (await text(page, "#eta")) === "–", await text(page, "#eta"));
  const phases = await text(page, "#phases");
  check("the phases after the series are listed with their times",
        phases.includes("series:") && phases.includes("writing results"), phases);
  await page.screenshot({ path: path.join(artifacts, "viewer-done.png"), fullPage: true });
  check("screenshots saved", fs.statSync(path.join(artifacts, "viewer-done.png")).size > 10000);

  // A viewer that comes after the end: no estimate will come any more, so its chart is the history.
  const status = await (await fetch(`http://127.0.0.1:${port}/status`)).json();
  const late = await newPage();
  await late.goto(`http://127.0.0.1:${port}/`);
  await waitFor(async () => late.isVisible("#final"), 20, "the late viewer's result", p);
  const latePoints = Number(await late.getAttribute("#chart", "data-points"));
  check("a late viewer gets the convergence history", latePoints >= 3 && latePoints >= status.history.length - 1,
        `${latePoints} points, the gateway holds ${status.history.length}`);
  check("a late viewer sees complete", (await text(late, "#job-state")) === "complete");

  // report.html: the same page, self-contained, from disk with every network request refused.
  const reportFile = path.join(out, "report.html");
  check("the job wrote report.html", fs.existsSync(reportFile));
  fs.copyFileSync(reportFile, path.join(artifacts, "report.html"));
  const report = await newPage();
  const asked = [];
  await report.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("file:")) return route.continue();
    asked.push(url);
    return route.abort();
  });
  await report.goto(`file://${reportFile}`);
  await waitFor(async () => report.isVisible("#final"), 10, "the report's result");
  check("the report opens with no network request", asked.length === 0, asked.join(", "));
  check("the report shows the result", (await text(report, "#final-digits")).startsWith(summary.estimate.slice(0, 12)));
  check("the report says complete", (await text(report, "#job-state")) === "complete");
  check("the report draws the chart from its history", (await report.locator("#chart canvas").count()) > 0 &&
        Number(await report.getAttribute("#chart", "data-points")) >= 3);
  check("the report has the timeline", Number(await report.getAttribute("#timeline", "data-spans")) >= 2);
  check("the report has the verification", (await text(report, "#final-verification")).startsWith("verified: "));
  await report.screenshot({ path: path.join(artifacts, "report.png"), fullPage: true });
  await report.close();

  // The gateway goes with the job (SIGINT ends the linger): the page keeps the end state.
  p.proc.kill("SIGINT");
  await p.exited;
  await waitFor(async () => (await text(page, "#connection")) === "gateway closed", 15, "the page to see the gateway go");
  await sleep(3000);
  check("the end state stays once the gateway is gone", (await text(page, "#job-state")) === "complete" &&
        (await text(page, "#connection")) === "gateway closed", await text(page, "#job-state"));
  await page.close();
  await late.close();
});

// Rank 0 SIGKILLed: nobody says the job ended, so the page must notice the silence.
await scenario("rank 0 killed", async () => {
  const port = await freePort();
  const out = path.join(scratch, "killed0");
  const p = start("mpirun", ["-n", "3", job, "--series", "leibniz", "--terms", "1e12", "--out", out,
                             "--serve", `127.0.0.1:${port}`, "--progress-interval", "0"]);
  await waitFor(() => p.log.includes("live page:"), 30, "the live page", p);
  const page = await newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  await waitFor(async () => (await text(page, "#job-state")) === "running", 30, "running", p);
  await sleep(1500);
  const pid = rankPid(0, out);
  check("found rank 0", pid !== null);
  const killed = Date.now();
  process.kill(pid, "SIGKILL");
  await waitFor(async () => (await text(page, "#job-state")).startsWith("stale"), 10, "the page to say stale", p);
  const after = (Date.now() - killed) / 1000;
  // Stale once 2 pulses of 1 s have passed since the last one heard, which left at most 1 s before the kill:
  // at most 2 s after the kill, plus the page's 0.25 s and this loop's 0.1 s ticks and the delivery.
  check(`the page says stale 2 heartbeats after the last one (${after.toFixed(2)} s after the kill)`, after <= 3);
  check("the page says why", (await page.isVisible("#state-detail")) &&
        (await text(page, "#state-detail")).includes("not been heard of"));
  await page.screenshot({ path: path.join(artifacts, "viewer-stale.png"), fullPage: true });
  await page.close();
});

// A worker SIGKILLed under --enable-recovery: its row says so long before the job is done with it.
await scenario("a worker killed", async () => {
  const port = await freePort();
  const out = path.join(scratch, "killed2");
  const p = start("mpirun", ["--enable-recovery", "-n", "3", job, "--series", "leibniz", "--terms", "34359738368",
                             "--out", out, "--serve", `127.0.0.1:${port}`, "--progress-interval", "0",
                             "--assignment-seconds", "0.3", "--linger", "30"]);
  await waitFor(() => p.log.includes("live page:"), 30, "the live page", p);
  const page = await newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  await waitFor(async () => (await page.locator("#workers tbody td.w-busy").count()) === 2, 30, "two busy workers", p);
  const pid = rankPid(2, out);
  check("found rank 2", pid !== null);
  const killed = Date.now();
  process.kill(pid, "SIGKILL");
  const row = page.locator("#workers tbody tr").nth(1).locator("td").nth(2);
  await waitFor(async () => /^(quiet|overdue|lost)/.test(await row.textContent()), 15, "rank 2's row to change", p);
  const after = (Date.now() - killed) / 1000;
  const said = await row.textContent();
  check(`the killed worker's row says so within 5 s (${after.toFixed(2)} s: ${said})`, after <= 5);
  check("the summary counts it", /(quiet|overdue|lost)/.test(await text(page, "#workers-summary")),
        await text(page, "#workers-summary"));
  await waitFor(async () => (await text(page, "#timeline-legend")).includes("failed or overdue"), 30,
                "the timeline to mark the lost task", p);
  check("the timeline marks the task the killed worker did not finish", true);
  await page.screenshot({ path: path.join(artifacts, "viewer-worker-lost.png"), fullPage: true });
  await waitFor(async () => (await text(page, "#job-state")) === "complete", 120, "the job to complete", p);
  check("the job completes without the worker", true);
  await page.close();
});

// Two jobs, one after the other, publishing to the same pi-gateway: the page follows the second afresh.
// The tail of a fast series: the page says which phase runs, on which rank, how far it is (the final steps'
// time against the time expected of them, the conversion's blocks) with a bar of its own. Every text the
// phase line takes is recorded in the page as it changes; each phase lasts over a second here (30 million
// digits on 2 workers), longer than the job's pulse.
await scenario("the tail of a fast series", async () => {
  const port = await freePort();
  const out = path.join(scratch, "tail");
  const p = start("mpirun", ["-n", "3", job, "--series", "chudnovsky", "--digits", "30000000", "--out", out,
                             "--serve", `127.0.0.1:${port}`, "--linger", "60", "--progress-interval", "0"]);
  await waitFor(() => p.log.includes("live page:"), 30, "the live page", p);
  const page = await newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.evaluate(() => {
    window.phaseTexts = [];
    const note = () => {
      const bar = document.getElementById("phase-bar");
      window.phaseTexts.push({ phase: document.getElementById("phase").textContent,
                               detail: document.getElementById("phase-detail").textContent,
                               bar: bar.hidden ? null : Number(bar.getAttribute("aria-valuenow")) });
    };
    new MutationObserver(note).observe(document.getElementById("phase-line-box"),
                                       { subtree: true, childList: true, characterData: true, attributes: true });
    note();  // the line as the page was opened (during the series), before any change
  });
  // A screenshot of the conversion's progress when the page shows it (an artifact, not a check).
  let shot = false;
  await waitFor(async () => {
    if (!shot && (await text(page, "#phase-detail")).includes("blocks")) {
      shot = true;
      await page.screenshot({ path: path.join(artifacts, "viewer-tail.png"), fullPage: true });
    }
    return (await text(page, "#job-state")) === "complete";
  }, 240, "the job to complete", p);
  check("the tail job exits 0", (await p.exited) === 0, p.log);
  const seen = await page.evaluate(() => window.phaseTexts);
  const finalSteps = seen.filter((s) => /^final division and square root \(on rank [12]\)$/.test(s.phase));
  check("the final steps are named with the rank they run on", finalSteps.length > 0,
        JSON.stringify(seen.map((s) => s.phase)));
  check("the final steps show their time against the time expected",
        finalSteps.some((s) => /^\([0-9.]+ s of about [0-9.]+ s\)$/.test(s.detail) && s.bar !== null && s.bar >= 0),
        JSON.stringify(finalSteps));
  const conversion = seen.filter((s) => s.phase === "decimal conversion");
  check("the conversion shows its blocks done with a bar",
        conversion.some((s) => /^\([0-2]\/2 blocks, [0-9.]+ s so far\)$/.test(s.detail) && s.bar !== null),
        JSON.stringify(conversion));
  const series = seen.filter((s) => s.phase === "series");
  check("the series was seen, and shows no phase detail", series.length > 0 && series.every((s) => s.detail === ""),
        JSON.stringify(seen.slice(0, 5)));
  check("once done, no phase detail and no phase bar", (await text(page, "#phase-detail")) === "" &&
        !(await page.isVisible("#phase-bar")), await text(page, "#phase-detail"));
  await page.close();
});

await scenario("a second job on the same gateway", async () => {
  const port = await freePort();
  const token = path.join(scratch, "token");
  fs.writeFileSync(token, "viewer-test-token\n", { mode: 0o600 });
  const gw = start(gatewayBinary, ["--listen", `127.0.0.1:${port}`, "--token-file", token]);
  await waitFor(async () => {
    try { return (await fetch(`http://127.0.0.1:${port}/status`)).ok; } catch { return false; }
  }, 20, "the gateway", gw);
  const page = await newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  const publish = ["--publish", `http://127.0.0.1:${port}`, "--token-file", token, "--progress-interval", "0"];
  const one = start(job, ["--series", "chudnovsky", "--digits", "20000", "--out", path.join(scratch, "one"), ...publish]);
  check("the first job exits 0", (await one.exited) === 0, one.log);
  await waitFor(async () => page.isVisible("#final"), 20, "the first job's result", gw);
  const firstJob = await text(page, "#job");
  check("the first job is shown complete", (await text(page, "#job-state")) === "complete" &&
        firstJob.startsWith("chudnovsky"), firstJob);
  check("the first job's phases are shown", (await text(page, "#phases")).includes("decimal conversion"),
        await text(page, "#phases"));
  const two = start(job, ["--series", "leibniz", "--terms", "3e10", "--out", path.join(scratch, "two"), ...publish]);
  await waitFor(async () => (await text(page, "#job")).startsWith("leibniz"), 30, "the second job", two);
  await waitFor(async () => (await text(page, "#terms")) !== "0", 30, "the second job's estimate", two);
  check("the second job's page is running", (await text(page, "#job-state")) === "running");
  check("the first job's result is gone", !(await page.isVisible("#final")));
  check("the first job's phases are gone", !(await text(page, "#phases")).includes("decimal conversion"),
        await text(page, "#phases"));
  check("the chart is the second job's", (await text(page, "#chart-title")).includes("error bounds"));
  await page.screenshot({ path: path.join(artifacts, "viewer-second-job.png"), fullPage: true });
  two.proc.kill("SIGINT");
  const stopped = await two.exited;
  check("the second job stops on SIGINT with exit code 3", stopped === 3, String(stopped));
  await waitFor(async () => (await text(page, "#job-state")).startsWith("stopped"), 10, "the page to say stopped", two);
  check("a stopped job says it can be resumed", (await text(page, "#state-detail")).includes("resume"));
  // Resumed: the same job (its id is in the checkpoint), so the page keeps its chart and says what it
  // resumed from.
  const pointsBefore = Number(await page.getAttribute("#chart", "data-points"));
  const again = start(job, ["--resume", "--out", path.join(scratch, "two"), ...publish]);
  await waitFor(async () => (await text(page, "#resumed")).startsWith("resumed (run 2) from checkpoint"), 30,
                "the page to say it resumed", again);
  const resumed = await text(page, "#resumed");
  check("the resume says where it started", /ranges done in .* before/.test(resumed), resumed);
  check("the resume keeps the chart", Number(await page.getAttribute("#chart", "data-points")) >= pointsBefore,
        `${await page.getAttribute("#chart", "data-points")} < ${pointsBefore}`);
  check("the resumed job completes", (await again.exited) === 0, again.log);
  await waitFor(async () => (await text(page, "#job-state")) === "complete", 20, "complete after the resume", again);
  await page.screenshot({ path: path.join(artifacts, "viewer-resumed.png"), fullPage: true });
  await page.close();
});

check("no script errors on any page", errors.length === 0, errors.join("; "));
await browser.close();
fs.rmSync(scratch, { recursive: true, force: true });
console.log(`${failures} failed`);
process.exit(failures ? 1 : 0);
