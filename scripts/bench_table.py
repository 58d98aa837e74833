#!/usr/bin/env python3
"""Prints the benchmark tables of scripts/bench.sh: rates and ratios from one invocation.

usage: bench_table.py [--likwid LIKWID.txt] [--paired PAIRED.txt RECORDS.jsonl]
                      BENCH.jsonl CEILINGS.json [CEILINGS.json ...]
Several ceilings files (measured before and after) are combined by taking the best of each.
LIKWID.txt: likwid-bench output, each line prefixed "fma THREADS " or "load THREADS ".
--paired: rounds of likwid-bench (PAIRED.txt, lines prefixed "ROUND load THREADS " or
"ROUND fma THREADS ") and ParaRun's records (RECORDS.jsonl, PARARUN_LABEL=ROUND), each round's
runs right after its likwid-bench: a round pairs the reduction's records with the load and the
matmul records (variants blocked and blas) with the FMA peak of its label and thread count.
"""
import json
import os
import statistics
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pararun_results import records, script_main  # noqa: E402


def read_likwid(path):
    """{threads: {"fma": GFLOP/s, "load": GB/s}} from likwid-bench's MFlops/s and MByte/s lines."""
    out = defaultdict(dict)
    for line in open(path):
        words = line.split()
        if len(words) < 4:
            continue
        what, threads = words[0], words[1]
        if what == "fma" and words[2] == "MFlops/s:":
            out[int(threads)]["fma"] = float(words[3]) / 1e3
        elif what == "load" and words[2] == "MByte/s:":
            out[int(threads)]["load"] = float(words[3]) / 1e3
    return out


def read_likwid_rounds(path):
    """{(round, "load" or "fma", threads): GB/s or GFLOP/s}: the figures of a paired file."""
    out = {}
    for line in open(path):
        words = line.split()
        if len(words) >= 5 and (words[1], words[3]) in (("load", "MByte/s:"), ("fma", "MFlops/s:")):
            out[(words[0], words[1], int(words[2]))] = float(words[4]) / 1e3
    return out


def paired_table(likwid_path, records_path):
    """Runs against likwid-bench measured right before them, round by round: the reduction
    against its load, ParaRun's GEMM against its FMA peak and against OpenBLAS run right after
    it. Per variant, size and thread count the median of the per-round ratios (the host drifts
    between rounds, less within one)."""
    if not (os.path.exists(likwid_path) and os.path.exists(records_path)):
        return
    likwid = read_likwid_rounds(likwid_path)
    loads = defaultdict(list)  # (variant, threads) -> [(GB/s, likwid's GB/s)], round by round
    gemm = defaultdict(dict)  # (n, threads, round) -> {variant: GFLOP/s, "fma": likwid's peak}
    for r in records(records_path):
        label = r.get("meta", {}).get("env", {}).get("PARARUN_LABEL")
        t = r.get("threads")
        if r.get("status") != "ok":
            continue
        if r.get("kernel") == "reduction" and (label, "load", t) in likwid:
            loads[(r["variant"], t)].append((r["gbytes_per_s"], likwid[(label, "load", t)]))
        elif r.get("kernel") == "matmul" and (label, "fma", t) in likwid:
            row = gemm[(r["size"], t, label)]
            row[r["variant"]] = r["gflops"]
            row["fma"] = likwid[(label, "fma", t)]
    if loads:
        print("\nReduction against likwid-bench's load, in alternation (each round: likwid-bench,"
              " then the reduction;\nmedian of the per-round ratios)")
        for (variant, t), pairs in sorted(loads.items()):
            med = statistics.median(g / l for g, l in pairs)
            print(f"  {variant:>12} threads={t}: {med:.2f} of likwid-bench's load ({len(pairs)} rounds:"
                  f" {' '.join(f'{g:.1f}/{l:.1f}' for g, l in pairs)} GB/s)")
    rounds = defaultdict(list)  # (n, threads) -> (round, row) with blocked and the FMA peak
    order = lambda key: (key[0], key[1], int("".join(c for c in key[2] if c.isdigit()) or 0), key[2])  # noqa: E731
    for (n, t, label), row in sorted(gemm.items(), key=lambda item: order(item[0])):
        if "blocked" in row:
            rounds[(n, t)].append((label, row))
    if rounds:
        print("\nGEMM in alternation (each round: likwid-bench's FMA peak, then ParaRun's blocked"
              " and OpenBLAS's best kernel,\neach first in every other round; median of the"
              " per-round ratios; GFLOP/s: median of reps;\nefficiency: against 1 thread in the"
              " same round)")
        fmt = lambda x: f"{x:.1f}" if x else "-"  # noqa: E731
        for (n, t), labelled in sorted(rounds.items()):
            rows = [row for _, row in labelled]
            peak = statistics.median(row["blocked"] / row["fma"] for row in rows)
            blas = [row["blocked"] / row["blas"] for row in rows if row.get("blas")]
            one = [(row["blocked"], gemm.get((n, 1, label), {}).get("blocked")) for label, row in labelled]
            eff = [b / (t * b1) for b, b1 in one if b1] if t > 1 else []
            print(f"  n={n} threads={t}: {peak:.2f} of likwid-bench's FMA peak"
                  + (f", {statistics.median(blas):.2f}x OpenBLAS" if blas else "")
                  + (f", efficiency {statistics.median(eff):.2f}" if eff else "")
                  + f" ({len(rows)} rounds: "
                  + " ".join(f"{row['blocked']:.1f}/{fmt(row.get('blas'))}/{row['fma']:.1f}"
                             for row in rows)
                  + " GFLOP/s blocked/OpenBLAS/peak)")


def main(records_path, *ceilings_paths, likwid=None, paired=None):
    ceilings = {}
    for path in ceilings_paths:
        for c in json.load(open(path)):
            best = ceilings.setdefault(c["threads"], dict(c))
            for key in ("fma_gflops", "read_gbytes_per_s", "read_gbytes_per_s_median",
                        "read_gbytes_per_s_small_pages"):
                best[key] = max(best.get(key, 0), c.get(key, 0))
    recs = list(records(records_path))
    bad = [r for r in recs if r.get("status") != "ok"]
    recs = [r for r in recs if r.get("status") == "ok"]

    cpus = sorted({r.get("meta", {}).get("cpu", r.get("meta", {}).get("cpu_model", "?"))
                   for r in recs})
    print("CPU: " + ", ".join(cpus))
    print("Ceilings (measured now): " + ", ".join(
        f"{t} thread(s): FMA {c['fma_gflops']:.1f} GFLOP/s, read {c['read_gbytes_per_s']:.1f} GB/s"
        f" (median {c.get('read_gbytes_per_s_median', 0):.1f})"
        for t, c in sorted(ceilings.items())))
    if likwid:
        for t, l in sorted(likwid.items()):
            c = ceilings.get(t, {})
            parts = []
            if "fma" in l:
                parts.append(f"peakflops FMA {l['fma']:.1f} GFLOP/s"
                             + (f" (ParaRun {c['fma_gflops'] / l['fma']:.2f}x)" if c else ""))
            if "load" in l:
                # likwid-bench's figure is the mean over its passes: like with like is ParaRun's
                # median pass (its best pass, and the best on 4 KiB pages as likwid reads, too).
                small = c.get("read_gbytes_per_s_small_pages") if c else None
                med = c.get("read_gbytes_per_s_median") if c else None
                parts.append(f"load {l['load']:.1f} GB/s"
                             + (f" (ParaRun median {med / l['load']:.2f}x, best {c['read_gbytes_per_s'] / l['load']:.2f}x"
                                + (f", best on 4 KiB pages {small / l['load']:.2f}x" if small else "")
                                + ")" if c and med else ""))
            print(f"likwid-bench, {t} thread(s): " + ", ".join(parts))
    print()

    gemm = defaultdict(dict)  # (n, threads) -> label -> gflops
    for r in recs:
        if r["kernel"] == "matmul" and r["backend"] in ("seq", "omp"):
            label = r.get("batch", {}).get("label") or r["meta"]["env"].get("PARARUN_LABEL", r["variant"])
            gemm[(r["size"], r["threads"])][label] = r["gflops"]
    labels = ["pararun", "pararun-avx2", "openblas-shipped", "openblas-skylakex", "openblas-haswell",
              "eigen", "naive"]
    labels = [l for l in labels if any(l in row for row in gemm.values())]
    if gemm:
        gemm_table(gemm, labels, ceilings)
        configs = sorted({(r["variant"], r.get("config", {}).get("blocking", "?"),
                           r.get("config", {}).get("blocking_from", "?"))
                          for r in recs if r["kernel"] == "matmul" and "blocked" in r["variant"]})
        for variant, blocking, source in configs:
            print(f"  {variant}: blocking {blocking} (from {source})")
        print()

    mpi = sorted((r["ranks"], r) for r in recs if r["kernel"] == "matmul" and r["backend"] == "mpi")
    if mpi:
        one = next((r for p, r in mpi if p == 1), None)
        base = one["time"]["median"] if one else None
        print("MPI matmul (SUMMA on a 2-D process grid, ParaRun GEMM per rank)")
        for p, r in mpi:
            s = base / r["time"]["median"] if base else None
            over = "  oversubscribed: concurrency, not parallelism" if r["oversubscribed"] else ""
            # The speedup's interval from both medians' intervals (both hold at once with at
            # least the Bonferroni coverage: 1 minus the two misses).
            interval = ""
            if s and r is not one:
                (b_lo, b_hi), (t_lo, t_hi) = one["time"]["ci"], r["time"]["ci"]
                cover = one["time"].get("ci_coverage", 0) + r["time"].get("ci_coverage", 0) - 1
                if t_lo > 0 and t_hi > 0:
                    interval = f" ({b_lo / t_hi:.2f}-{b_hi / t_lo:.2f}, >= {max(cover, 0) * 100:.0f}%)"
            print(f"  n={r['size']} ranks={p}: {r['gflops']:.1f} GFLOP/s, median {r['time']['median']:.3f} s"
                  + (f", speedup vs 1 rank {s:.2f}{interval}, efficiency {s / p:.2f}" if s else "") + over)
        print()

    reduction = [r for r in recs if r["kernel"] == "reduction"]
    if reduction:
        print(f"Reduction GB/s (n = {reduction[0]['size']} doubles, {reduction[0]['bytes'] / 2**20:.0f} MiB):"
              " median against the ceiling's median,")
        print("best repetition against the ceiling's best")
    for r in sorted(reduction, key=lambda r: (r["variant"], r["threads"])):
        c = ceilings.get(r["threads"], {})
        ceil, ceil_med = c.get("read_gbytes_per_s"), c.get("read_gbytes_per_s_median")
        best = r["bytes"] / r["time"]["min"] * 1e-9
        line = f"  {r['variant']:>12} threads={r['threads']}: median {r['gbytes_per_s']:.1f} GB/s"
        if ceil_med:
            line += f" ({r['gbytes_per_s'] / ceil_med:.0%} of {ceil_med:.1f})"
        line += f", best rep {best:.1f} GB/s"
        if ceil:
            line += f" ({best / ceil:.0%} of {ceil:.1f})"
        print(line)
    if paired:
        paired_table(*paired)
    kernels_tables(recs, ceilings)
    if bad:
        print(f"\n{len(bad)} run(s) failed verification and are left out above")


def gemm_table(gemm, labels, ceilings):
    print("GEMM GFLOP/s (median of reps)")
    print(f"{'n':>5} {'thr':>3} " + " ".join(f"{l:>17}" for l in labels)
          + f" {'/best OpenBLAS':>14} {'/FMA peak':>9} {'/Eigen':>7} {'par.eff':>7}"
          + (f" {'avx2/OB-Haswell':>15}" if "pararun-avx2" in labels else ""))
    for (n, t), row in sorted(gemm.items()):
        own = row.get("pararun")
        blas = max([row[l] for l in ("openblas-shipped", "openblas-skylakex", "openblas-haswell")
                    if l in row] or [0])
        peak = ceilings.get(t, {}).get("fma_gflops", 0)
        one = gemm.get((n, 1), {}).get("pararun")
        cells = " ".join(f"{row[l]:>17.1f}" if l in row else f"{'-':>17}" for l in labels)
        ratio = lambda a, b: f"{a / b:.2f}" if a and b else "-"
        eff = ratio(own, one * t) if (t > 1 and one) else "-"
        avx2 = (f" {ratio(row.get('pararun-avx2'), row.get('openblas-haswell')):>15}"
                if "pararun-avx2" in labels else "")
        print(f"{n:>5} {t:>3} {cells} {ratio(own, blas):>14} {ratio(own, peak):>9} "
              f"{ratio(own, row.get('eigen')):>7} {eff:>7}{avx2}")
    print()


def kernels_tables(recs, ceilings):
    """stream and stencil against the read-bandwidth ceiling; halo exchange blocking vs
    overlapped; mandelbrot schedules and distributions against the sequential run."""
    stream = [r for r in recs if r["kernel"] == "stream"]
    if stream:
        print("\nSTREAM GB/s (McCalpin's byte counts, n = %d per array), median against the"
              " read-only ceiling's median" % stream[0]["size"])
        for r in sorted(stream, key=lambda r: (r["threads"], r["variant"])):
            c = ceilings.get(r["threads"], {}).get("read_gbytes_per_s_median")
            share = f" ({r['gbytes_per_s'] / c:.0%} of {c:.1f})" if c else ""
            print(f"  {r['variant']:>6} threads={r['threads']}: {r['gbytes_per_s']:.1f} GB/s{share}")
    stencil = [r for r in recs if r["kernel"] == "stencil"]
    if stencil:
        print("\nStencil (Jacobi 5-point, n = %d, 16 bytes per cell update), median" % stencil[0]["size"])
        seq = [r["time"]["median"] for r in stencil if r["backend"] == "seq"]
        for r in sorted(stencil, key=lambda r: (r["backend"] != "seq", r["ranks"], r["threads"], r["variant"])):
            pes = r["threads"] * r["ranks"]
            c = read_ceiling(ceilings, pes)
            line = (f"  {r['backend']:>4} {r['variant']:>10} threads={r['threads']} ranks={r['ranks']}:"
                    f" {r['time']['median'] * 1e3:.1f} ms, {r['gbytes_per_s']:.1f} GB/s")
            if c:
                line += f" ({r['gbytes_per_s'] / c:.0%} of the read ceiling {c:.1f})"
            if seq and r["backend"] != "seq":
                line += f", speedup {seq[0] / r['time']['median']:.2f}"
            if r.get("oversubscribed"):
                line += "  oversubscribed: concurrency, not parallelism"
            print(line)
        for p in sorted({r["ranks"] for r in stencil if r["backend"] == "mpi"}):
            t = {r["variant"]: r["time"]["median"] for r in stencil if r["backend"] == "mpi" and r["ranks"] == p}
            if "blocking" in t and "overlapped" in t:
                print(f"  {p} ranks: overlapped / blocking time = {t['overlapped'] / t['blocking']:.2f}")
    mandel = [r for r in recs if r["kernel"] == "mandelbrot"]
    if mandel:
        print("\nMandelbrot (n = %d, load-imbalanced), speedup against the sequential run" % mandel[0]["size"])
        seq = [r["time"]["median"] for r in mandel if r["backend"] == "seq"]
        for r in sorted(mandel, key=lambda r: (r["backend"] != "seq", r["backend"], r["ranks"], r["variant"])):
            line = (f"  {r['backend']:>4} {r['variant']:>7} threads={r['threads']} ranks={r['ranks']}:"
                    f" {r['time']['median'] * 1e3:.1f} ms")
            print(line + scaling_note(seq, r))
    npb_tables(recs, ceilings)


def scaling_note(seq, r):
    """", speedup S, efficiency E" against the sequential median seq[0], and the oversubscribed
    label."""
    note = ""
    if seq:
        s = seq[0] / r["time"]["median"]
        note += f", speedup {s:.2f}, efficiency {s / (r['threads'] * r['ranks']):.2f}"
    if r.get("oversubscribed"):
        note += "  oversubscribed: concurrency, not parallelism"
    return note


def read_ceiling(ceilings, pes):
    """The read-only ceiling's median at pes threads (the largest measured count beyond)."""
    return ceilings.get(min(pes, max(ceilings or [1])), {}).get("read_gbytes_per_s_median")


def npb_tables(recs, ceilings):
    """NPB CG and EP: NPB's Mop/s, CG's bandwidth against the read ceiling, speedup and
    efficiency against the sequential run of the same class."""
    for kernel in ("cg", "ep"):
        rows = [r for r in recs if r["kernel"] == kernel]
        if not rows:
            continue
        print(f"\n{rows[0].get('problem', kernel)}: NPB Mop/s, speedup against the sequential run")
        seq = [r["time"]["median"] for r in rows if r["backend"] == "seq"]
        for r in sorted(rows, key=lambda r: (r["backend"] != "seq", r["backend"], r["ranks"], r["threads"])):
            pes = r["threads"] * r["ranks"]
            line = (f"  {r['backend']:>6} threads={r['threads']} ranks={r['ranks']}:"
                    f" {r['time']['median'] * 1e3:.1f} ms, {r['rate']['value']:.0f} {r['rate']['unit']}")
            if kernel == "cg":
                c = read_ceiling(ceilings, pes)
                line += f", {r['gbytes_per_s']:.1f} GB/s"
                if c:
                    line += f" ({r['gbytes_per_s'] / c:.0%} of the read ceiling {c:.1f})"
            print(line + scaling_note(seq, r))


USAGE = ("bench_table.py [--likwid LIKWID.txt] [--paired PAIRED.txt RECORDS.jsonl] "
         "BENCH.jsonl CEILINGS.json [CEILINGS.json ...]")


def cli(*args):
    likwid = paired = None
    while args[:1] in (("--likwid",), ("--paired",)):
        if args[0] == "--likwid" and len(args) >= 2:
            likwid = read_likwid(args[1])
            args = args[2:]
        elif args[0] == "--paired" and len(args) >= 3:
            paired = (args[1], args[2])
            args = args[3:]
        else:
            break
    if len(args) < 2 or any(a.startswith("--") for a in args):
        print(f"usage: {USAGE}", file=sys.stderr)
        sys.exit(2)
    main(*args, likwid=likwid, paired=paired)


if __name__ == "__main__":
    script_main("bench_table.py", USAGE, cli, range(2, 1 << 20))
