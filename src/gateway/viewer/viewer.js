// The live viewer: follows /events (the browser's EventSource resumes with Last-Event-ID by itself) and
// shows the estimate with its proven digits marked, progress, convergence, workers, notices and the result.
"use strict";

const $ = (id) => document.getElementById(id);
const points = { terms: [], log10err: [] };
let chart = null;
let done = false;

function log10OfBound(text) {
  // "6.58e-4000039" is far below what a double holds: split mantissa and exponent.
  const m = /^([0-9.]+)e([-+]?[0-9]+)$/.exec(String(text));
  if (!m) { const v = Number(text); return v > 0 ? Math.log10(v) : null; }
  return Math.log10(Number(m[1])) + Number(m[2]);
}

function duration(s) {
  if (s === null || s === undefined || !isFinite(s)) return "–";
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(Math.round(s) % 60).padStart(2, "0")}s`;
  return `${s.toFixed(1)}s`;
}

function showDigits(el, digits, correct) {
  // "3." and `correct` decimals are proven; what follows is shown greyed.
  const cut = Math.min(digits.length, 2 + correct);
  el.textContent = "";
  const a = document.createElement("span"); a.className = "correct"; a.textContent = digits.slice(0, cut);
  const b = document.createElement("span"); b.className = "unsure"; b.textContent = digits.slice(cut);
  el.append(a, b);
  if (digits.length > 2 + correct || correct <= digits.length - 2) return;
  el.append(document.createTextNode("…"));
}

function setConnection(state) {
  const el = $("connection");
  el.className = "state " + state;
  el.textContent = state;
}

function onJob(j) {
  if (!j) return;
  const what = j.digits !== null && j.digits !== undefined ? `${j.digits.toLocaleString()} digits` : `${j.terms.toLocaleString()} terms`;
  $("job").textContent = `${j.series}: ${what}, ${j.ranges} ranges on ${j.ranks} rank${j.ranks === 1 ? "" : "s"}` +
    (j.resumes ? ` (resumed ${j.resumes}×)` : "");
  $("final").hidden = true;
  done = false;
}

function onEstimate(e) {
  if (!e) return;
  showDigits($("digits"), e.digits, e.correct_digits);
  $("correct").textContent = Number(e.correct_digits).toLocaleString();
  $("bound").textContent = e.error_bound;
  $("terms").textContent = Number(e.terms).toLocaleString();
  $("method").textContent = e.method || "";
  if (e.ranges) {
    $("ranges").textContent = `${e.ranges_done}/${e.ranges}`;
    const pct = 100 * (e.fraction || 0);
    $("percent").textContent = `${pct.toFixed(1)}%`;
    $("bar-fill").style.width = `${pct}%`;
  }
  if (e.rate !== undefined) $("rate").textContent = `${Number(e.rate).toPrecision(3)} ${e.unit || ""}/s`;
  if (e.eta_s !== undefined) $("eta").textContent = duration(e.eta_s);
  // A fast series' live estimate is computed at a modest precision, which caps its proven digits; what the
  // terms themselves give (about) is the convergence worth plotting.
  const about = Number(e.about_digits_of_terms || 0);
  $("about").textContent = about > e.correct_digits + 5 ? `the terms so far give about ${about.toLocaleString()} digits` : "";
  const y = about > e.correct_digits + 5 ? -about : log10OfBound(e.partial_sum_error_bound || e.error_bound);
  if (y !== null && e.terms > 0 && (points.terms.length === 0 || e.terms > points.terms[points.terms.length - 1])) {
    points.terms.push(e.terms);
    points.log10err.push(y);
    drawChart();
  }
}

function drawChart() {
  if (typeof uPlot === "undefined") { $("chart-note").hidden = false; return; }
  const data = [points.terms, points.log10err];
  if (!chart) {
    chart = new uPlot({
      width: Math.max(360, $("chart").clientWidth || 500), height: 260,
      scales: { x: { time: false, distr: 3 } },
      axes: [{ label: "terms (log scale)" }, { label: "log10(error bound)", size: 80 }],
      series: [{}, { label: "log10 error bound", stroke: "#3b6fd8", width: 2, points: { show: true } }],
    }, data, $("chart"));
  } else {
    chart.setData(data);
  }
}

function onWorkers(w) {
  if (!w) return;
  $("workers-summary").textContent = `${w.alive} alive, ${w.busy} busy, ${w.retries} retries`;
  const body = $("workers").querySelector("tbody");
  body.textContent = "";
  for (const r of w.workers || []) {
    const tr = document.createElement("tr");
    for (const v of [r.rank, r.host, r.evaluations, r.merges, Number(r.terms).toLocaleString(), r.busy_s.toFixed(1),
                     r.failures, r.timeouts, r.retired ? "retired" : "ok"]) {
      const td = document.createElement("td"); td.textContent = v; tr.append(td);
    }
    body.append(tr);
  }
}

function onCheckpoint(c) {
  if (c) $("checkpoint").textContent = `checkpoint ${c.number}: ${c.ranges_done}/${c.ranges} ranges (${c.reason})`;
}

function onNotice(n) {
  if (!n) return;
  const li = document.createElement("li");
  li.textContent = `${n.level}: ${n.text}`;
  $("notices").prepend(li);
  while ($("notices").children.length > 50) $("notices").lastChild.remove();
}

function onDone(d) {
  if (!d) return;
  done = true;
  $("final").hidden = false;
  showDigits($("final-digits"), d.estimate, d.correct_digits);
  $("final-facts").textContent = `${d.series}: ${Number(d.correct_digits).toLocaleString()} correct digits, ` +
    `error bound ${d.error_bound}, ${d.terms.toLocaleString()} terms, ${duration(d.elapsed_s)} on ${d.ranks} ` +
    `rank${d.ranks === 1 ? "" : "s"}, ${d.retries} retries, status ${d.status}`;
  showVerification(d.verification);
  setConnection("done");
}

// What was checked beyond the error bound: the fingerprints of the pieces, the BBP digits, the range.
function showVerification(v) {
  const el = $("final-verification");
  if (!v) { el.textContent = ""; return; }
  const parts = [];
  const f = v.fingerprints;
  if (f.checked) {
    parts.push(`${f.pieces.toLocaleString()} pieces, ${f.products.toLocaleString()} products and ` +
               `${f.conversion_blocks} conversion blocks matched their fingerprints` +
               (f.mismatches ? ` (${f.mismatches} wrong results caught and computed again)` : ""));
  }
  const dup = v.duplicates;
  if (dup && dup.ranges > 0) {
    parts.push(`${dup.ranges.toLocaleString()} ranges summed again by another worker agreed` +
               (dup.disagreements ? ` (${dup.disagreements} disagreements settled by a third)` : ""));
  }
  const b = v.bbp;
  if (b.checked) {
    parts.push(`hex digits after position ${b.position.toLocaleString()}: ${b.result_hex_digits}, ` +
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

function onState(s) {
  onJob(s.job); onEstimate(s.estimate); onWorkers(s.workers); onCheckpoint(s.checkpoint);
  if (s.done) onDone(s.done);
}

const handlers = { job: onJob, estimate: onEstimate, workers: onWorkers, checkpoint: onCheckpoint, notice: onNotice,
                   done: onDone, snapshot: onState, reset: onState };

const source = new EventSource("/events");
source.onopen = () => setConnection(done ? "done" : "live");
source.onerror = () => setConnection(source.readyState === EventSource.CLOSED ? "closed" : "reconnecting");
for (const [kind, handle] of Object.entries(handlers)) {
  source.addEventListener(kind, (ev) => handle(JSON.parse(ev.data)));
}
source.addEventListener("overload", () => setConnection("overloaded"));
