#!/usr/bin/env python3
"""Prints the benchmark tables of scripts/bench.sh: rates and ratios from one invocation.

usage: bench_table.py BENCH.jsonl CEILINGS.json [CEILINGS.json ...]
Several ceilings files (measured before and after) are combined by taking the best of each.
"""
import json
import sys
from collections import defaultdict


def main(records_path, *ceilings_paths):
    ceilings = {}
    for path in ceilings_paths:
        for c in json.load(open(path)):
            best = ceilings.setdefault(c["threads"], dict(c))
            for key in ("fma_gflops", "read_gbytes_per_s", "read_gbytes_per_s_median"):
                best[key] = max(best[key], c[key])
    recs = [json.loads(l) for l in open(records_path) if l.strip()]
    bad = [r for r in recs if r.get("status") != "ok"]
    recs = [r for r in recs if r.get("status") == "ok"]

    print("Ceilings (measured now): " + ", ".join(
        f"{t} thread(s): FMA {c['fma_gflops']:.1f} GFLOP/s, read {c['read_gbytes_per_s']:.1f} GB/s"
        f" (median {c.get('read_gbytes_per_s_median', 0):.1f})"
        for t, c in sorted(ceilings.items())))
    print()

    gemm = defaultdict(dict)  # (n, threads) -> label -> gflops
    for r in recs:
        if r["kernel"] == "matmul" and r["backend"] in ("seq", "omp"):
            gemm[(r["size"], r["threads"])][r["meta"]["env"].get("PARARUN_LABEL", r["variant"])] = r["gflops"]
    labels = ["pararun", "openblas-shipped", "openblas-skylakex", "eigen", "naive"]
    print("GEMM GFLOP/s (median of reps)")
    print(f"{'n':>5} {'thr':>3} " + " ".join(f"{l:>17}" for l in labels)
          + f" {'/best OpenBLAS':>14} {'/FMA peak':>9} {'/Eigen':>7} {'par.eff':>7}")
    for (n, t), row in sorted(gemm.items()):
        own = row.get("pararun")
        blas = max([row[l] for l in ("openblas-shipped", "openblas-skylakex") if l in row] or [0])
        peak = ceilings.get(t, {}).get("fma_gflops", 0)
        one = gemm.get((n, 1), {}).get("pararun")
        cells = " ".join(f"{row[l]:>17.1f}" if l in row else f"{'-':>17}" for l in labels)
        ratio = lambda a, b: f"{a / b:.2f}" if a and b else "-"
        eff = ratio(own, one * t) if (t > 1 and one) else "-"
        print(f"{n:>5} {t:>3} {cells} {ratio(own, blas):>14} {ratio(own, peak):>9} "
              f"{ratio(own, row.get('eigen')):>7} {eff:>7}")
    print()

    mpi = sorted((r["ranks"], r) for r in recs if r["kernel"] == "matmul" and r["backend"] == "mpi")
    if mpi:
        base = next((r["time"]["median"] for p, r in mpi if p == 1), None)
        print("MPI matmul (SUMMA on a 2-D process grid, ParaRun GEMM per rank)")
        for p, r in mpi:
            s = base / r["time"]["median"] if base else None
            over = "  oversubscribed: concurrency, not parallelism" if r["oversubscribed"] else ""
            print(f"  n={r['size']} ranks={p}: {r['gflops']:.1f} GFLOP/s, median {r['time']['median']:.3f} s"
                  + (f", speedup vs 1 rank {s:.2f}, efficiency {s / p:.2f}" if s else "") + over)
        print()

    print("Reduction GB/s (n = 2^26 doubles, 512 MiB): median against the ceiling's median,")
    print("best repetition against the ceiling's best")
    for r in sorted((r for r in recs if r["kernel"] == "reduction"), key=lambda r: (r["variant"], r["threads"])):
        c = ceilings.get(r["threads"], {})
        ceil, ceil_med = c.get("read_gbytes_per_s"), c.get("read_gbytes_per_s_median")
        best = r["bytes"] / r["time"]["min"] * 1e-9
        line = f"  {r['variant']:>6} threads={r['threads']}: median {r['gbytes_per_s']:.1f} GB/s"
        if ceil_med:
            line += f" ({r['gbytes_per_s'] / ceil_med:.0%} of {ceil_med:.1f})"
        line += f", best rep {best:.1f} GB/s"
        if ceil:
            line += f" ({best / ceil:.0%} of {ceil:.1f})"
        print(line)
    if bad:
        print(f"\n{len(bad)} run(s) failed verification and are left out above")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
