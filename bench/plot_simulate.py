#!/usr/bin/env python3
"""The plot of bench/simulate.sh as SVG, with no library: plot_simulate.py RUNS.jsonl OUT.svg DIGITS.

Left: the job's time against the hosts (log-log), pieces on the workers (direct) and through rank 0 (star),
with the ideal (one worker's time over the workers). Right: where the time went on each cluster (direct):
the evaluations, the merges after them, the final division and square root, and the conversion."""
import json
import math
import sys

runs = [json.loads(line) for line in open(sys.argv[1])]
digits = int(sys.argv[3])
W, H = 980, 420
L = dict(x=70, y=40, w=380, h=300)  # left panel
R = dict(x=560, y=40, w=380, h=300)  # right panel
out = []


def text(x, y, s, anchor="middle", size=12, weight="normal", fill="#222"):
    out.append(f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
               f'font-weight="{weight}" fill="{fill}">{s}</text>')


def line(x1, y1, x2, y2, stroke="#ccc", width=1, dash=None):
    d = f' stroke-dasharray="{dash}"' if dash else ""
    out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}" '
               f'stroke-width="{width}"{d}/>')


hosts = sorted({r["hosts"] for r in runs})
by = {(r["plane"], r["hosts"]): r for r in runs}
times = [r["seconds"] for r in runs]
one = {p: by[(p, 2)]["seconds"] for p in ("direct", "star") if (p, 2) in by}
ideal = {h: one["direct"] / (h - 1) for h in hosts} if "direct" in one else {}
ymin = 10 ** math.floor(math.log10(min(times + list(ideal.values()))))
ymax = 10 ** math.ceil(math.log10(max(times)))
xl0, xl1 = math.log2(min(hosts)), math.log2(max(hosts))


def px(h):
    return L["x"] + (math.log2(h) - xl0) / (xl1 - xl0) * L["w"]


def py(s):
    return L["y"] + L["h"] - (math.log10(s) - math.log10(ymin)) / (math.log10(ymax) - math.log10(ymin)) * L["h"]


text(L["x"] + L["w"] / 2, 22, f"chudnovsky {digits:,} digits: time against hosts", weight="bold", size=13)
decade = ymin
while decade <= ymax * 1.0001:
    line(L["x"], py(decade), L["x"] + L["w"], py(decade))
    text(L["x"] - 8, py(decade) + 4, f"{decade:g} s", anchor="end", size=11)
    decade *= 10
for h in hosts:
    line(px(h), L["y"], px(h), L["y"] + L["h"])
    text(px(h), L["y"] + L["h"] + 18, str(h), size=11)
text(L["x"] + L["w"] / 2, L["y"] + L["h"] + 38, "hosts (rank 0 and the workers), log scale", size=11)
styles = {"direct": ("#1f5fa8", None), "star": ("#c0392b", "6 4"), "ideal": ("#777", "2 3")}
series = {p: [(h, by[(p, h)]["seconds"]) for h in hosts if (p, h) in by] for p in ("direct", "star")}
series["ideal"] = sorted(ideal.items())
for name, pts in series.items():
    if not pts:
        continue
    colour, dash = styles[name]
    d = " ".join(f"{'M' if i == 0 else 'L'}{px(h):.1f},{py(s):.1f}" for i, (h, s) in enumerate(pts))
    extra = f' stroke-dasharray="{dash}"' if dash else ""
    out.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="2"{extra}/>')
    for h, s in pts:
        out.append(f'<circle cx="{px(h):.1f}" cy="{py(s):.1f}" r="3" fill="{colour}"/>')
legend = [("direct", "pieces on the workers (today)"), ("star", "through rank 0 (before)"),
          ("ideal", "one worker's time / workers")]
for i, (name, label) in enumerate(legend):
    colour, dash = styles[name]
    y = L["y"] + 14 + i * 16
    line(L["x"] + L["w"] - 190, y, L["x"] + L["w"] - 165, y, stroke=colour, width=2, dash=dash)
    text(L["x"] + L["w"] - 160, y + 4, label, anchor="start", size=11)

# Right: phases per cluster, direct.
text(R["x"] + R["w"] / 2, 22, "where the time went (pieces on the workers)", weight="bold", size=13)
rows = [by[("direct", h)] for h in hosts if ("direct", h) in by]
tmax = max(r["seconds"] for r in rows)
phases = [("evaluations", "#4a90d9", lambda r: r["evaluations_end_s"]),
          ("merges", "#f5a623", lambda r: r["root_s"] - r["evaluations_end_s"]),
          ("division, sqrt", "#7b4fa0", lambda r: r["final_steps_end_s"] - r["root_s"]),
          ("conversion", "#3a9d5d", lambda r: r["conversion_s"])]
bar = R["h"] / max(len(rows), 1)
for i, r in enumerate(rows):
    y = R["y"] + i * bar + bar * 0.2
    x = R["x"]
    for _, colour, part in phases:
        w = max(part(r), 0) / tmax * (R["w"] - 120)
        out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{bar * 0.6:.1f}" fill="{colour}"/>')
        x += w
    text(R["x"] - 8, y + bar * 0.3 + 4, f'{r["hosts"]} hosts', anchor="end", size=11)
    text(x + 4, y + bar * 0.3 + 4, f'{r["seconds"]:.1f} s, eff. {one["direct"] / ((r["hosts"] - 1) * r["seconds"]):.2f}',
         anchor="start", size=10)
for i, (name, colour, _) in enumerate(phases):
    x = R["x"] + i * 95
    out.append(f'<rect x="{x}" y="{R["y"] + R["h"] + 12}" width="12" height="12" fill="{colour}"/>')
    text(x + 16, R["y"] + R["h"] + 22, name, anchor="start", size=11)

svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
       f'font-family="sans-serif"><rect width="{W}" height="{H}" fill="#fff"/>' + "".join(out) + "</svg>\n")
open(sys.argv[2], "w").write(svg)
