// The live viewer: follows /events (the browser's EventSource resumes with Last-Event-ID by itself) and
// shows the job's state, the estimate with its proven digits marked, progress by phase, convergence,
// workers, notices and the result.
"use strict";

const $ = (id) => document.getElementById(id);
const STALE_PULSES = 2;  // as the gateway's kStalePulses: no word for this many pulse intervals

const view = {
  jobId: null,
  job: null,
  state: "waiting",       // as the job last said: running, stopping, stopped, failed, complete
  heardAt: 0,              // performance.now() of the job's last event
  interval: 1,             // its pulse interval, s
  lastRangesDone: null,    // what the previous run of this job had done, for a resume's note
  fraction: 0,
  ended: false,            // complete, failed or stopped: the figures are no longer live
};
const points = { terms: [], main: [], partial: [] };
let chart = null;
// The timeline's tasks: [rank, kind, start_s, end_s, ok, first range, end range].
const timeline = { spans: [], dropped: 0, drawn: 0 };

// ---- numbers for people ----

function group(n) { return Math.round(n).toLocaleString("en-US"); }

// 1.07 M digits, 46.4 MB: three significant figures and an SI prefix (a word unit gets a space).
function si(x, unit) {
  if (x === null || x === undefined || !isFinite(x)) return "–";
  const gap = unit.length > 1 ? " " : "";
  const prefixes = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
  for (const [scale, p] of prefixes) {
    if (Math.abs(x) >= scale) return `${Number((x / scale).toPrecision(3))} ${p}${gap}${unit}`;
  }
  return `${Number(Number(x).toPrecision(3))} ${unit}`.trim();
}

// Labels of a log axis: the powers of ten only, so that they never crowd.
function powersOfTen(u, ticks) {
  return ticks.map((t) => (t > 0 && Math.abs(Math.log10(t) - Math.round(Math.log10(t))) < 1e-9 ? si(t, "") : ""));
}

function bytes(b) { return b ? si(b, "B") : "–"; }

function plural(n, one, many) { return `${group(n)} ${n === 1 ? one : many}`; }

// A bound as text: "< 10^−4,000,038 (6.58e-4000039)".
function boundText(text) {
  const l = log10OfBound(text);
  if (l === null) return String(text ?? "–");
  const exp = Math.ceil(l - 1e-9);
  return `< 10^${exp < 0 ? "−" : ""}${group(Math.abs(exp))} (${text})`;
}

function duration(s) {
  if (s === null || s === undefined || !isFinite(s) || s < 0) return "–";
  if (s < 10) return `${s.toFixed(1)} s`;
  const t = Math.round(s);
  if (t < 60) return `${t} s`;
  if (t < 3600) return `${Math.floor(t / 60)} m ${t % 60} s`;
  return `${Math.floor(t / 3600)} h ${Math.floor(t / 60) % 60} m`;
}

// "6.58e-4000039" is far below what a double holds: split mantissa and exponent.
function log10OfBound(text) {
  const m = /^([0-9.]+)e([-+]?[0-9]+)$/.exec(String(text));
  if (!m) { const v = Number(text); return v > 0 ? Math.log10(v) : null; }
  return Math.log10(Number(m[1])) + Number(m[2]);
}

// An error bound as a power of ten it is below: "< 10^-4,000,038".
function showBound(el, text) {
  const l = log10OfBound(text);
  el.textContent = "";
  if (l === null) { el.textContent = text ?? "–"; return; }
  const exp = Math.ceil(l - 1e-9);
  const sup = document.createElement("sup");
  sup.textContent = (exp < 0 ? "−" : "") + group(Math.abs(exp));
  el.append(document.createTextNode("< 10"), sup);
  el.title = String(text);
}

// ---- the page's parts ----

function showDigits(el, digits, correct) {
  // "3." and `correct` decimals are proven; what follows is shown grey and italic.
  const cut = Math.min(digits.length, 2 + correct);
  el.textContent = "";
  const a = document.createElement("span"); a.className = "correct"; a.textContent = digits.slice(0, cut);
  const b = document.createElement("span"); b.className = "unsure"; b.textContent = digits.slice(cut);
  el.append(a, b);
  if (digits.length > 2 + correct || correct <= digits.length - 2) return;
  el.append(document.createTextNode("…"));
}

function setConnection(text) {
  const el = $("connection");
  el.className = "conn " + text.split(" ")[0];
  el.textContent = text;
}

const STATE_TEXT = {
  waiting: "waiting", running: "running", stopping: "stopping", stopped: "stopped (resumable)",
  failed: "failed", complete: "complete", stale: "stale",
};

// The state shown: what the job said, or stale when it said running and has been quiet too long.
function shownState() {
  if ((view.state === "running" || view.state === "stopping") && view.heardAt &&
      performance.now() - view.heardAt > STALE_PULSES * view.interval * 1000) return "stale";
  return view.state;
}

function render() {
  const state = shownState();
  const pill = $("job-state");
  const text = state === "stale"
    ? `stale: no word for ${duration((performance.now() - view.heardAt) / 1000)}` : STATE_TEXT[state] || state;
  if (pill.textContent !== text) pill.textContent = text;
  pill.className = "pill " + state;
  const detail = $("state-detail");
  const notes = {
    stale: "The job has not been heard of for several heartbeats: it may have died or lost its link to the " +
           "gateway. The figures below are its last ones.",
    stopped: "The job stopped; its checkpoint holds the work done. Run the same command again to resume it.",
    failed: "The job failed; see its log and the notices below.",
  };
  detail.hidden = !notes[state];
  detail.textContent = notes[state] || "";
  detail.className = "state-detail" + (state === "stopped" ? "" : " bad");
  const live = state === "running" || state === "stopping" || state === "waiting";
  $("main").classList.toggle("not-live", !live && state !== "complete");
  const pct = Math.round(100 * view.fraction);
  document.title = state === "running" ? `${pct}% · pi-hpc` : `${STATE_TEXT[state] || state} · pi-hpc`;
}

function heard() { view.heardAt = performance.now(); }

function resetForJob(jobId) {
  view.jobId = jobId;
  view.ended = false;
  view.state = "running";
  view.lastRangesDone = null;
  view.fraction = 0;
  points.terms = []; points.main = []; points.partial = [];
  if (chart) { chart.destroy(); chart = null; }
  $("chart").dataset.points = "0";
  timeline.spans = []; timeline.dropped = 0;
  drawTimeline();
  for (const id of ["checkpoint", "resumed", "about", "method", "workers-summary"]) $(id).textContent = "";
  $("notices").textContent = "";
  $("phases").textContent = "";
  $("phase-detail").textContent = "";
  $("phase-bar").hidden = true;
  $("workers").querySelector("tbody").textContent = "";
  $("digits").textContent = "–";
  $("final").hidden = true;
  setProgress(0, null, null);
}

// Another job's event: the page starts afresh.
function sameJob(id) {
  if (id && id !== view.jobId) resetForJob(id);
}

function onJob(j) {
  if (!j) return;
  heard();
  const resumedOver = view.jobId === j.job_id ? view.lastRangesDone : null;
  sameJob(j.job_id);
  view.job = j;
  view.ended = false;
  // Each run's timeline counts from its own start.
  timeline.spans = []; timeline.dropped = 0;
  drawTimeline();
  if (view.state !== "running" && view.state !== "stopping") view.state = "running";
  const what = j.digits !== null && j.digits !== undefined ? `${group(j.digits)} digits` : `${group(j.terms)} terms`;
  $("job").textContent = `${j.series}: ${what}, ${group(j.ranges)} ranges on ${j.ranks} rank${j.ranks === 1 ? "" : "s"}`;
  const r = j.resumed_from;
  if (r) {
    let text = `resumed (run ${j.resumes + 1}) from checkpoint ${r.checkpoint}: ${group(r.ranges_done)}/${group(j.ranges)} ` +
      `ranges done in ${duration(r.elapsed_s)} before`;
    if (resumedOver !== null && resumedOver > r.ranges_done) {
      text += `; ${group(resumedOver - r.ranges_done)} ranges finished after that checkpoint are computed again`;
    }
    $("resumed").textContent = text;
  } else {
    $("resumed").textContent = "";
  }
  $("final").hidden = true;
  chartTitle();
  render();
}

function setProgress(fraction, done, total) {
  view.fraction = fraction;
  const pct = 100 * fraction;
  $("percent").textContent = `${pct.toFixed(1)}%`;
  $("bar-fill").style.width = `${pct}%`;
  $("bar").setAttribute("aria-valuenow", pct.toFixed(1));
  if (total) $("ranges").textContent = `${group(done)}/${group(total)}`;
}

function unit() { return (view.job && view.job.unit) || "terms"; }

function onProgress(p) {
  if (!p) return;
  heard();
  sameJob(p.job_id);
  view.state = p.state;
  view.interval = p.interval_s || 1;
  view.ended = ["complete", "failed", "stopped"].includes(p.state);
  if (p.ranges) {
    setProgress(p.state === "complete" ? 1 : p.fraction || 0, p.ranges_done, p.ranges);
    view.lastRangesDone = p.ranges_done;
  }
  const series = p.phase === "series";
  $("rate").textContent = p.rate ? `${si(p.rate, unit())}/s` : "–";
  $("eta").textContent = series && p.state === "running" && p.eta_s !== null ? duration(p.eta_s) : "–";
  $("elapsed").textContent = duration(p.elapsed_s);
  const ENDED = { complete: "done", stopped: `stopped during ${p.phase}`, failed: `failed during ${p.phase}` };
  $("phase").textContent = view.ended ? ENDED[p.state] : p.phase;
  showPhaseDetail(p);
  const list = $("phases");
  list.textContent = "";
  (p.phases || []).forEach((ph, i) => {
    const end = i + 1 < p.phases.length ? p.phases[i + 1].start_s : p.elapsed_s;
    const li = document.createElement("li");
    li.textContent = `${ph.name}: ${duration(end - ph.start_s)}` + (i + 1 === p.phases.length && !view.ended ? " so far" : "");
    list.append(li);
  });
  render();
}

// After the series, how far the current phase is: its count (the conversion's blocks), its time so far
// and the time it is expected to take (the final steps); a bar of its own when it has either.
function showPhaseDetail(p) {
  const last = (p.phases || []).at(-1);
  const tail = p.series_s !== null && p.series_s !== undefined && !view.ended && last;
  const parts = [];
  let share = null;
  if (tail) {
    const count = p.phase_count;
    if (count && count.total > 0) {
      parts.push(`${group(count.done)}/${group(count.total)} ${count.what}`);
      share = count.done / count.total;
    } else if (count && count.done > 0) {
      parts.push(`${group(count.done)} ${count.what}`);  // a count with no total
    }
    const spent = p.elapsed_s - last.start_s;
    const expected = p.phase_expected_s;
    parts.push(duration(spent) + (expected ? ` of about ${duration(expected)}` : " so far"));
    if (share === null && expected) share = Math.min(1, spent / expected);
  }
  $("phase-detail").textContent = parts.length ? `(${parts.join(", ")})` : "";
  const bar = $("phase-bar");
  bar.hidden = share === null;
  const pct = 100 * (share || 0);
  const fill = $("phase-bar-fill");
  // A new phase's bar starts where it is, not from the last phase's width.
  fill.style.transition = p.phase === view.barPhase ? "" : "none";
  view.barPhase = p.phase;
  fill.style.width = `${pct}%`;
  bar.setAttribute("aria-valuenow", pct.toFixed(1));
}

function onEstimate(e) {
  if (!e) return;
  heard();
  showDigits($("digits"), e.digits, e.correct_digits);
  $("correct").textContent = group(e.correct_digits);
  showBound($("bound"), e.error_bound);
  $("bound-label").textContent = e.partial_sum_error_bound ? "error bound of the accelerated estimate" : "error bound";
  $("terms").textContent = group(e.terms);
  $("method").textContent = e.method || "";
  if (e.ranges) setProgress(e.fraction || 0, e.ranges_done, e.ranges);
  // A fast series' live estimate is computed at a modest precision, which caps its proven digits; what the
  // terms themselves give is the convergence worth plotting.
  const about = Number(e.about_digits_of_terms || 0);
  $("about").textContent = about > e.correct_digits + 5 ? `the terms so far give about ${group(about)} digits` : "";
  addPoint({ terms: e.terms, about_digits: about, correct_digits: e.correct_digits,
             log10_bound: log10OfBound(e.error_bound),
             log10_partial_bound: e.partial_sum_error_bound ? log10OfBound(e.partial_sum_error_bound) : null });
  drawChart();
}

function chartTitle() {
  const f = isFast();
  $("chart-title").textContent = f ? "Convergence: digits the terms give, against terms"
    : "Convergence: proven error bounds against terms";
  $("chart-caption").textContent = f
    ? "Each term of a fast series adds a fixed number of digits; the line is what the terms summed so far give (their tail bound)."
    : "Two bounds: the plain partial sum's, and the accelerated estimate's (what the headline figure uses). Lower is better.";
}

// Fast series count digits (each term adds a fixed number); slow series count terms.
function isFast() { return Boolean(view.job && view.job.unit === "digits"); }

function addPoint(p) {
  if (!(p.terms > 0)) return;
  const last = points.terms.length ? points.terms[points.terms.length - 1] : 0;
  if (p.terms <= last) return;
  const f = isFast();
  points.terms.push(p.terms);
  points.main.push(f ? Math.max(p.about_digits || 0, p.correct_digits || 0) : p.log10_bound ?? null);
  points.partial.push(f ? null : p.log10_partial_bound ?? null);
  $("chart").dataset.points = String(points.terms.length);
}

function drawChart() {
  if (typeof uPlot === "undefined") { $("chart-note").hidden = false; return; }
  const f = isFast();
  const data = f ? [points.terms, points.main] : [points.terms, points.partial, points.main];
  const width = Math.max(260, $("chart").clientWidth || 500);
  if (chart && chart.series.length !== data.length) { chart.destroy(); chart = null; }
  if (!chart) {
    const series = f
      ? [{}, { label: "digits the terms give", stroke: "#2b5bb8", width: 2, points: { show: true },
               value: (u, v) => (v === null ? "–" : group(v)) }]
      : [{}, { label: "partial sum: log10 bound", stroke: "#8a5a00", width: 2, points: { show: true } },
         { label: "accelerated: log10 bound", stroke: "#2b5bb8", width: 2, points: { show: true } }];
    chart = new uPlot({
      width, height: 260,
      scales: { x: { time: false, distr: 3 } },
      axes: [{ label: "terms (log scale)", values: powersOfTen, space: 60 },
             { label: f ? "digits" : "log10(error bound)", size: 64,
               values: (u, ticks) => ticks.map((t) => (f ? si(t, "") : String(t))) }],
      legend: { live: false },
      series,
    }, data, $("chart"));
  } else {
    chart.setData(data);
  }
}

window.addEventListener("resize", () => {
  if (chart) chart.setSize({ width: Math.max(260, $("chart").clientWidth), height: 260 });
  drawTimeline();
});

const WORKER_TEXT = { busy: "busy", idle: "idle", quiet: "quiet", overdue: "overdue", lost: "lost", retired: "retired" };

function onWorkers(w) {
  if (!w) return;
  heard();
  const list = w.workers || [];
  const count = (s) => list.filter((r) => r.state === s).length;
  const parts = [`${count("busy")} busy`, `${count("idle")} idle`];
  for (const s of ["quiet", "overdue", "lost", "retired"]) if (count(s)) parts.push(`${count(s)} ${s}`);
  $("workers-summary").textContent = `${plural(list.length, "worker", "workers")}: ${parts.join(", ")}; ` +
    plural(w.retries, "retry", "retries");
  const body = $("workers").querySelector("tbody");
  body.textContent = "";
  for (const r of list) {
    const tr = document.createElement("tr");
    const state = r.state || (r.retired ? "retired" : "busy");
    const stateText = state === "quiet" ? `quiet ${duration(r.quiet_s)}` : WORKER_TEXT[state] || state;
    const rate = r.busy_s > 0 && r.terms > 0 ? `${si(r.terms / r.busy_s, "terms")}/s` : "–";
    const cells = [r.rank, r.host, stateText, group(r.evaluations), group(r.merges), si(r.terms, ""), rate,
                   duration(r.busy_s), bytes(r.peak_rss_bytes), r.failures, r.timeouts];
    cells.forEach((v, i) => {
      const td = document.createElement("td");
      td.textContent = v;
      if (i === 2) td.className = `w-${state}`;
      tr.append(td);
    });
    body.append(tr);
  }
}

// Okabe-Ito colours, told apart by colour-blind readers too; failures are outlined in red and crossed.
const KIND_COLOURS = { evaluation: "#0072B2", merge: "#E69F00", product: "#009E73", assembly: "#CC79A7",
                       digits: "#56B4E9", final: "#D55E00", constant: "#F0E442", load: "#999999",
                       copy: "#000000" };

function onTasks(t) {
  if (!t) return;
  heard();
  for (const s of t.spans || []) timeline.spans.push(s);
  timeline.dropped += t.not_listed || 0;
  const extra = timeline.spans.length - 5000;  // as the gateway's kTimelineSpans
  if (extra > 0) { timeline.spans.splice(0, extra); timeline.dropped += extra; }
  drawTimeline();
}

function drawTimeline() {
  const canvas = $("timeline");
  const spans = timeline.spans;
  const ranks = [...new Set(spans.map((s) => s[0]))].sort((a, b) => a - b);
  const rowH = 22, top = 4, left = 56, bottom = 22;
  const width = Math.max(260, canvas.clientWidth || 800);
  const height = top + Math.max(1, ranks.length) * rowH + bottom;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = width * ratio; canvas.height = height * ratio; canvas.style.height = `${height}px`;
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  g.font = "12px system-ui, sans-serif";
  g.fillStyle = "#1d1d1d";
  if (!spans.length) {
    g.fillText("no task has ended yet", left, top + 14);
    canvas.setAttribute("aria-label", "no tasks yet");
    canvas.dataset.spans = "0";
    return;
  }
  const t0 = Math.min(...spans.map((s) => s[2]));
  const t1 = Math.max(...spans.map((s) => s[3]));
  const span = Math.max(1e-3, t1 - t0);
  const x = (t) => left + ((t - t0) / span) * (width - left - 8);
  const counts = {};
  ranks.forEach((r, i) => { g.fillStyle = "#1d1d1d"; g.fillText(`rank ${r}`, 4, top + i * rowH + 15); });
  for (const s of spans) {
    const [rank, kind, a, b, ok] = s;
    const row = ranks.indexOf(rank);
    const y = top + row * rowH + 3;
    const w = Math.max(1, x(b) - x(a));
    g.fillStyle = KIND_COLOURS[kind] || "#777";
    g.fillRect(x(a), y, w, rowH - 6);
    counts[kind] = (counts[kind] || 0) + 1;
    if (!ok) {
      g.strokeStyle = "#a3262a"; g.lineWidth = 2;
      g.strokeRect(x(a), y, Math.max(w, 6), rowH - 6);
      g.beginPath(); g.moveTo(x(a), y); g.lineTo(x(a) + Math.max(w, 6), y + rowH - 6); g.stroke();
      counts.failed = (counts.failed || 0) + 1;
    }
  }
  g.fillStyle = "#1d1d1d";
  const axisY = top + ranks.length * rowH + 14;
  g.fillText(`${duration(t0)}`, left, axisY);
  const end = `${duration(t1)} since the job started`;
  g.fillText(end, width - 8 - g.measureText(end).width, axisY);
  const legend = $("timeline-legend");
  legend.textContent = "";
  for (const kind of Object.keys(KIND_COLOURS)) {
    if (!counts[kind]) continue;
    const sw = document.createElement("span"); sw.className = "swatch"; sw.style.background = KIND_COLOURS[kind];
    legend.append(sw, document.createTextNode(`${kind} (${group(counts[kind])})`));
  }
  if (counts.failed) {
    const sw = document.createElement("span"); sw.className = "swatch failed";
    legend.append(sw, document.createTextNode(`failed or overdue (${group(counts.failed)})`));
  }
  const summary = Object.entries(counts).map(([k, n]) => `${group(n)} ${k}`).join(", ");
  canvas.setAttribute("aria-label", `tasks on ${ranks.length} ranks over ${duration(span)}: ${summary}`);
  canvas.dataset.spans = String(spans.length);
  $("timeline-note").textContent = timeline.dropped
    ? `${group(timeline.dropped)} earlier tasks are not shown (the newest ${group(spans.length)} are).` : "";
}

function onCheckpoint(c) {
  if (!c) return;
  heard();
  $("checkpoint").textContent = `checkpoint ${c.number}: ${group(c.ranges_done)}/${group(c.ranges)} ranges (${c.reason})`;
}

function onNotice(n) {
  if (!n) return;
  heard();
  const li = document.createElement("li");
  li.textContent = `${n.level}: ${n.text}`;
  $("notices").prepend(li);
  while ($("notices").children.length > 50) $("notices").lastChild.remove();
}

function onDone(d) {
  if (!d) return;
  heard();
  view.state = d.status === "complete" ? "complete" : "failed";
  view.ended = true;
  $("final").hidden = false;
  showDigits($("final-digits"), d.estimate, d.correct_digits);
  $("final-facts").textContent = `${d.series}: ${group(d.correct_digits)} correct digits, ` +
    `error bound ${boundText(d.error_bound)}, ${group(d.terms)} terms, ${duration(d.elapsed_s)} on ` +
    `${plural(d.ranks, "rank", "ranks")}, ${plural(d.retries, "retry", "retries")}, status ${d.status}`;
  showVerification(d.verification);
  $("eta").textContent = "–";
  if (d.status === "complete") setProgress(1, d.ranges, d.ranges);
  render();
}

// What was checked beyond the error bound: the fingerprints of the pieces, the BBP digits, the range.
function showVerification(v) {
  const el = $("final-verification");
  if (!v) { el.textContent = ""; return; }
  const parts = [];
  const f = v.fingerprints;
  if (f.checked) {
    parts.push(`${group(f.pieces)} pieces, ${group(f.products)} products and ` +
               `${f.conversion_blocks} conversion blocks matched their fingerprints` +
               (f.mismatches ? ` (${f.mismatches} wrong results caught and computed again)` : ""));
  }
  const dup = v.duplicates;
  if (dup && dup.ranges > 0) {
    parts.push(`${group(dup.ranges)} ranges summed again by another worker agreed` +
               (dup.disagreements ? ` (${dup.disagreements} disagreements settled by a third)` : ""));
  }
  const b = v.bbp;
  if (b.checked) {
    parts.push(`hex digits after position ${group(b.position)}: ${b.result_hex_digits}, ` +
               `BBP formula ${b.formula_hex_digits}`);
  }
  if (v.verified) {
    el.className = "verification verified";
    el.textContent = "verified: " + parts.join("; ");
  } else if (v.failure) {
    el.className = "verification failed";
    el.textContent = "verification FAILED, not a result: " + v.failure;
  } else {
    el.className = "verification unchecked";
    el.textContent = "not verified beyond the error bound: " +
      [f.why_not, dup && dup.why_not, b.why_not].filter(Boolean).join("; ");
  }
}

// A new stream's state: the latest event of each kind, the gateway's view of the job, the history.
function onState(s) {
  const id = (s.job && s.job.job_id) || (s.progress && s.progress.job_id);
  if (id && id !== view.jobId) resetForJob(id);
  onJob(s.job);
  for (const p of s.history || []) addPoint(p);
  onProgress(s.progress);
  onEstimate(s.estimate); onWorkers(s.workers); onCheckpoint(s.checkpoint);
  if (s.timeline) {
    timeline.spans = [...(s.timeline.spans || [])];
    timeline.dropped = s.timeline.dropped || 0;
    drawTimeline();
  }
  if (s.done) onDone(s.done);
  // The gateway heard of the job some time before this snapshot.
  const js = s.job_state;
  if (js && js.heard_s_ago !== null && js.heard_s_ago !== undefined) {
    view.heardAt = performance.now() - 1000 * js.heard_s_ago;
  }
  if (js && ["stopped", "failed", "complete"].includes(js.state)) view.state = js.state;
  drawChart();
  render();
}

const handlers = { job: onJob, progress: onProgress, estimate: onEstimate, workers: onWorkers, tasks: onTasks,
                   checkpoint: onCheckpoint, notice: onNotice, done: onDone, snapshot: onState, reset: onState };

// report.html: the state the job ended in, inline; nothing to follow.
if (window.PI_REPORT) {
  onState(window.PI_REPORT);
  view.heardAt = 0;  // a report is not live: never stale
  setConnection("report: the page as the job ended");
  render();
} else {
  const source = new EventSource("/events");
  source.onopen = () => setConnection("connected");
  source.onerror = () => {
    // A job that has ended keeps its last state: no endless reconnecting to a gateway that went with it.
    if (view.ended) {
      source.close();
      setConnection("gateway closed");
    } else {
      setConnection(source.readyState === EventSource.CLOSED ? "closed" : "reconnecting");
    }
    render();
  };
  for (const [kind, handle] of Object.entries(handlers)) {
    source.addEventListener(kind, (ev) => handle(JSON.parse(ev.data)));
  }
  source.addEventListener("overload", () => setConnection("overloaded"));
  setInterval(render, 250);
  render();
}
