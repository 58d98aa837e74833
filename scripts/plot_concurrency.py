#!/usr/bin/python3
"""Bar chart of `pararun concurrency` records: speedup over sequential per workload and mode.

usage: plot_concurrency.py RECORDS.jsonl OUT.png
Needs Debian's python3-matplotlib (run with /usr/bin/python3).
"""
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pararun_results import (  # noqa: E402
    csv_output_problem, record_files, records, script_main, write_atomically)

MODES = ["sequential", "event-loop", "threads-one-core", "threads-all-cores"]


def main(records_path, out_path):
    # Not over the records it reads, another name of them or other records: savefig wrote
    # through a link at OUT onto the records themselves.
    problem = csv_output_problem(out_path, record_files(records_path), "a plot",
                                 (".png", ".svg", ".pdf"))
    if problem:
        sys.exit("plot_concurrency.py: " + problem)
    recs = [r for r in records(records_path) if r.get("kernel", "").startswith("concurrency-")]
    if not recs:
        sys.exit(f"plot_concurrency.py: no concurrency records in {records_path}")
    last = {}
    for r in recs:  # the newest record of each workload and mode
        last[(r["kernel"], r["variant"])] = r
    workloads = sorted({k for k, _ in last})
    tasks = recs[-1]["size"]
    meta = recs[-1]["meta"]
    cores = meta.get("cores_usable", meta["cores"])  # the CPUs its tasks could use (taskset)

    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.2
    for i, mode in enumerate(MODES):
        xs, ys = [], []
        for j, w in enumerate(workloads):
            r = last.get((w, mode))
            if r:
                xs.append(j + (i - 1.5) * width)
                ys.append(r.get("speedup_vs_sequential", 0))
        bars = ax.bar(xs, ys, width, label=mode)
        ax.bar_label(bars, fmt="%.2fx", fontsize=8)
    ax.axhline(min(tasks, cores), color="gray", ls="--", lw=1)
    ax.text(-0.45, min(tasks, cores), f"min(N, cores) = {min(tasks, cores)}",
            va="bottom", ha="left", fontsize=8, color="gray")
    ax.axhline(tasks, color="gray", ls=":", lw=1)
    ax.text(-0.45, tasks, f"N = {tasks} tasks", va="bottom", ha="left", fontsize=8, color="gray")
    ax.set_ylim(0, tasks * 1.15)
    ax.set_xticks(range(len(workloads)), [w.replace("concurrency-", "") + "-bound" for w in workloads])
    ax.set_ylabel("speedup over sequential")
    ax.set_title(f"Concurrency is not parallelism: {tasks} tasks on {cores} cores")
    ax.legend(fontsize=8, loc="center left")
    fig.tight_layout()
    kind = os.path.splitext(out_path)[1][1:].lower() or "png"  # (as savefig infers it)
    write_atomically(out_path, "wb", lambda f: fig.savefig(f, dpi=110, format=kind))
    print(out_path)


if __name__ == "__main__":
    script_main("plot_concurrency.py", "plot_concurrency.py RECORDS.jsonl OUT.png", main, (2,))
