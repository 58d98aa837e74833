#!/usr/bin/python3
"""Plots of a `pararun study` folder from its analysis.json (written by pararun study and
pararun report DIR): for each kernel and size, time vs processing elements (log-log, ideal
line), speedup (ideal line, the Amdahl fit pararun computed) and parallel efficiency, with the
median's confidence interval and the speedup's (order statistics, or the bootstrap over rounds)
as error bars. It recomputes no number: speedups, efficiencies
and fits are pararun's. Writes DIR/<kernel>-<size>.png and prints their names.

usage: plot_study.py STUDY_DIR
Needs Debian's python3-matplotlib (run with /usr/bin/python3).
"""
import json
import os
import re
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pararun_results import script_main, write_atomically  # noqa: E402 (installed beside it)


def plot_group(study_dir, g, used):
    weak = g["scaling"] == "weak"
    rows = [r for r in g["rows"] if r["verified"] and r["median_s"]]
    series = defaultdict(list)
    for r in rows:
        if r["backend"] != "seq":
            series[r["series"]].append(r)  # hybrid: one series per threads per rank
    if not series:
        return None
    base = g["baseline"]["median_s"] if g["baseline"] else None
    fits = {f["series"]: f for f in g["fits"]}
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    for name, rs in sorted(series.items()):
        rs.sort(key=lambda r: (r["pes"], r["ranks"]))
        ps = [r["pes"] for r in rs]
        ts = [r["median_s"] for r in rs]
        lo = [r["median_s"] - r["ci_s"][0] for r in rs]
        hi = [r["ci_s"][1] - r["median_s"] for r in rs]
        line = axes[0].errorbar(ps, ts, yerr=[lo, hi], marker="o", capsize=3, label=name)
        color = line[0].get_color()
        for r in rs:
            if r["oversubscribed"]:
                axes[0].plot([r["pes"]], [r["median_s"]], "x", color="red", markersize=10)
        # Strong scaling: speedup against the best sequential run, else against this series
        # at 1 PE; weak scaling: Gustafson's scaled speedup.
        key = "speedup" if (base and not weak) else "relative"
        pts = [(r["pes"], r[key], r.get("speedup_ci") if key == "speedup" else None)
               for r in rs if r[key] is not None]
        if pts:
            # The speedup's interval (and the efficiency's, the same over p) as error bars.
            def bars(scale):
                # (a bootstrap interval need not hold the ratio of medians: no negative bars)
                return [[max(0, s - ci[0]) / scale(p) if ci else 0 for p, s, ci in pts],
                        [max(0, ci[1] - s) / scale(p) if ci else 0 for p, s, ci in pts]]
            axes[1].errorbar([p for p, _, _ in pts], [s for _, s, _ in pts],
                             yerr=bars(lambda p: 1), marker="o", capsize=3, color=color, label=name)
            axes[2].errorbar([p for p, _, _ in pts], [s / p for p, s, _ in pts],
                             yerr=bars(lambda p: p), marker="o", capsize=3, color=color, label=name)
        fit = fits.get(name)
        if (fit and fit["tested"] and fit.get("applies", True) and base and not weak
                and fit["a_s"] > 0):
            a, b = fit["a_s"], fit["b_s"]
            grid = [1 + i * (max(ps) - 1) / 50 for i in range(51)]
            axes[1].plot(grid, [base / (a + b / p) for p in grid], ls=":", color=color,
                         label=f"{name} Amdahl model, serial {fit['serial_fraction']:.2f}")
    top = max(r["pes"] for r in rows)
    if base and not weak:
        axes[0].plot([1, top], [base, base / top], "k--", lw=1, label="ideal from best sequential")
        axes[0].legend(fontsize=7)
    axes[0].set_xscale("log", base=2)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("processing elements (threads x ranks)")
    axes[0].set_ylabel("median time (s), CI of the median")
    axes[0].set_title("time (x: oversubscribed)")
    axes[1].plot([1, top], [1, top], "k--", lw=1, label="ideal")
    axes[1].set_xlabel("processing elements")
    axes[1].set_ylabel("scaled speedup (Gustafson)" if weak else "speedup vs best sequential, interval")
    axes[1].set_title("speedup")
    axes[2].axhline(1.0, color="k", ls="--", lw=1)
    axes[2].set_xlabel("processing elements")
    axes[2].set_ylabel("efficiency")
    axes[2].set_title("parallel efficiency")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7)
    title = f"{g['kernel']}, {'weak scaling from' if weak else 'size'} {g['size']}"
    if base and not weak:
        title += f" (baseline: best sequential, {base * 1e3:.3f} ms)"
    fig.suptitle(title)
    fig.tight_layout()
    # One file per group: STREAM's operations (comparable_as) and groups of other builds
    # (provenance) share a kernel and a size.
    stem = "-".join(x for x in (g["kernel"], g.get("comparable_as", ""), str(g["size"])) if x)
    # The names come from records, which anyone can edit: a file name of plain characters in
    # the study folder, never a path ("../x" or "/tmp/x" would write outside it).
    stem = re.sub(r"[^A-Za-z0-9_+=.,-]", "_", stem).lstrip(".") or "plot"
    name, n = stem, 1
    while name in used:
        n += 1
        name = f"{stem}-{n}"
    used.add(name)
    out = os.path.join(study_dir, name + ".png")
    try:  # a new file renamed over the name: a link there is replaced, never written through
        write_atomically(out, "wb", lambda f: fig.savefig(f, dpi=100, format="png"))
    finally:
        plt.close(fig)
    return os.path.basename(out)


def main(study_dir):
    with open(os.path.join(study_dir, "analysis.json")) as f:
        analysis = json.load(f)
    if analysis.get("schema") != "pararun.analysis/1":
        sys.exit(f"plot_study.py: {study_dir}/analysis.json is not pararun.analysis/1")
    used = set()
    for g in analysis["groups"]:
        name = plot_group(study_dir, g, used)
        if name:
            print(name)


if __name__ == "__main__":
    script_main("plot_study.py", "plot_study.py STUDY_DIR", main, (1,))
