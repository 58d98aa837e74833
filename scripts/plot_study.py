#!/usr/bin/python3
"""Plots of a `pararun study` folder: for each kernel and size, time vs processing elements
(log-log, ideal line), speedup (ideal line, Amdahl fit) and parallel efficiency, with 95% CI
error bars. Writes DIR/<kernel>-<size>.png and prints their names.

usage: plot_study.py STUDY_DIR
Needs Debian's python3-matplotlib (run with /usr/bin/python3).
"""
import json
import os
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def amdahl_fit(ps, ts):
    """Least squares T(p) = a + b / p; None with fewer than two distinct p."""
    if len(set(ps)) < 2:
        return None
    xs = [1.0 / p for p in ps]
    n = len(xs)
    sx, sy = sum(xs), sum(ts)
    sxx = sum(x * x for x in xs)
    sxy = sum(x * t for x, t in zip(xs, ts))
    b = (n * sxy - sx * sy) / (n * sxx - sx * sx)
    a = (sy - b * sx) / n
    return a, b


def main(study_dir):
    path = os.path.join(study_dir, "results.jsonl")
    recs = [json.loads(l) for l in open(path) if l.strip()]
    recs = [r for r in recs if r.get("status") == "ok" and "time" in r]
    groups = defaultdict(list)
    for r in recs:
        weak = r.get("scaling") == "weak"
        groups[(r["kernel"], r.get("base_size") if weak else r["size"], weak)].append(r)
    for (kernel, size, weak), rows in groups.items():
        series = defaultdict(list)
        for r in rows:
            if r["backend"] == "seq":
                continue
            series[f"{r['backend']}/{r['variant']}"].append(r)
        if not series:
            continue
        seq = [r["time"]["median"] for r in rows if r["backend"] == "seq"]
        base = min(seq) if seq else None
        fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
        for name, rs in sorted(series.items()):
            rs.sort(key=lambda r: (r["pes"], r["ranks"]))
            ps = [r["pes"] for r in rs]
            ts = [r["time"]["median"] for r in rs]
            lo = [r["time"]["median"] - r["time"]["ci95"][0] for r in rs]
            hi = [r["time"]["ci95"][1] - r["time"]["median"] for r in rs]
            over = [r.get("oversubscribed", False) for r in rs]
            line = axes[0].errorbar(ps, ts, yerr=[lo, hi], marker="o", capsize=3, label=name)
            color = line[0].get_color()
            for p, t, o in zip(ps, ts, over):
                if o:
                    axes[0].plot([p], [t], "x", color="red", markersize=10)
            t1 = next((t for p, t in zip(ps, ts) if p == 1), None)
            ref = base if (base and not weak) else t1
            if ref:
                sp = [(p * ref / t) if weak else ref / t for p, t in zip(ps, ts)]
                axes[1].plot(ps, sp, marker="o", color=color, label=name)
                axes[2].plot(ps, [s / p for s, p in zip(sp, ps)], marker="o", color=color, label=name)
            fit = amdahl_fit([p for p, o in zip(ps, over) if not o], [t for t, o in zip(ts, over) if not o])
            if fit and ref and not weak and fit[0] > 0:
                a, b = fit
                grid = [1 + i * (max(ps) - 1) / 50 for i in range(51)]
                axes[1].plot(grid, [ref / (a + b / p) for p in grid], ls=":", color=color,
                             label=f"{name} Amdahl model, serial {a / (a + b):.2f}")
        top = max(r["pes"] for r in rows)
        if base and not weak:
            axes[0].plot([1, top], [base, base / top], "k--", lw=1, label="ideal from best sequential")
            axes[0].legend(fontsize=7)
        axes[0].set_xscale("log", base=2)
        axes[0].set_yscale("log")
        axes[0].set_xlabel("processing elements (threads x ranks)")
        axes[0].set_ylabel("median time (s), 95% CI")
        axes[0].set_title("time (x: oversubscribed)")
        axes[1].plot([1, top], [1, top], "k--", lw=1, label="ideal")
        axes[1].set_xlabel("processing elements")
        axes[1].set_ylabel("scaled speedup (Gustafson)" if weak else "speedup vs best sequential")
        axes[1].set_title("speedup")
        axes[2].axhline(1.0, color="k", ls="--", lw=1)
        axes[2].set_xlabel("processing elements")
        axes[2].set_ylabel("efficiency")
        axes[2].set_title("parallel efficiency")
        for ax in axes:
            ax.grid(alpha=0.3)
        axes[1].legend(fontsize=7)
        title = f"{kernel}, {'weak scaling from' if weak else 'size'} {size}"
        if base and not weak:
            title += f" (baseline: best sequential, {base * 1e3:.3f} ms)"
        fig.suptitle(title)
        fig.tight_layout()
        out = os.path.join(study_dir, f"{kernel}-{size}.png")
        fig.savefig(out, dpi=100)
        plt.close(fig)
        print(os.path.basename(out))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
