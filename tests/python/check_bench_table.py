#!/usr/bin/python3
"""scripts/bench_table.py's tables in alternation (bench.sh's paired rounds): each round's real
records against the likwid-bench figures of the same round and thread count; the printed
ratios are the medians of the per-round ratios, computed here again from the records.

  check_bench_table.py PARARUN SCRIPTS_DIR WORK_DIR"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys

exe, scripts, work = sys.argv[1:4]
listing = subprocess.run([exe, "list"], check=True, capture_output=True, text=True).stdout
if not re.search(r"^matmul +seq +blas ", listing, re.M):
    print("this pararun has no OpenBLAS variant (built without BLAS): skipped")
    sys.exit(77)
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
runs = os.path.join(work, "paired-runs.jsonl")
env = dict(os.environ, PARARUN_TUNING=os.path.join(work, "no-tuning.json"))
env.pop("OPENBLAS_CORETYPE", None)

# Three rounds, as bench.sh runs them: likwid-bench's figures, then ParaRun's runs. The rates
# are then set round by round (below) so that the median of the per-round ratios differs from
# the ratio of the medians and from any pairing with another round's figures.
fma = {("round1", 1): 20.0, ("round2", 1): 100.0, ("round3", 1): 60.0,
       ("round1", 2): 200.0, ("round2", 2): 160.0, ("round3", 2): 100.0}
load = {("round1", 1): 20.0, ("round2", 1): 10.0, ("round3", 1): 40.0}
with open(os.path.join(work, "paired-likwid.txt"), "w") as f:
    for (rnd, t), v in fma.items():
        f.write(f"{rnd} fma {t} MFlops/s:\t\t{v * 1e3:.2f}\n{rnd} fma {t} Runtime: 1.0 s\n")
    for (rnd, t), v in load.items():
        f.write(f"{rnd} load {t} MByte/s:\t\t{v * 1e3:.2f}\n")
for rnd in ("round1", "round2", "round3"):
    for args in (["matmul", "-b", "seq", "-t", "1", "-v", "blocked", "-n", "96"],
                 ["matmul", "-b", "seq", "-t", "1", "-v", "blas", "-n", "96"],
                 ["matmul", "-b", "omp", "-t", "2", "-v", "blocked", "-n", "96"],
                 ["reduction", "-b", "seq", "-t", "1", "-v", "simd", "-n", "2^12"]):
        subprocess.run([exe, "run", *args, "-r", "2", "-o", runs], check=True, stdout=subprocess.DEVNULL,
                       env=dict(env, PARARUN_LABEL=rnd))
rates = {("matmul", "blocked", 1): (10, 30, 12), ("matmul", "blas", 1): (20, 10, 6),
         ("matmul", "blocked", 2): (15, 70, 20), ("reduction", "simd", 1): (5, 30, 8)}
lines = []
for line in open(runs):
    r = json.loads(line)
    rnd = int(r["meta"]["env"]["PARARUN_LABEL"][-1]) - 1
    r["gflops" if r["kernel"] == "matmul" else "gbytes_per_s"] = \
        rates[(r["kernel"], r["variant"], r["threads"])][rnd]
    lines.append(json.dumps(r))
# A failed run's record is left out (were it not, it would replace round 1's rate), and so is
# a record of a round without a likwid-bench figure.
failed = dict(json.loads(lines[0]), status="failed", gflops=1e6)
lost = dict(json.loads(lines[0]), gflops=1e6)
lost["meta"]["env"]["PARARUN_LABEL"] = "round9"
with open(runs, "w") as f:
    f.write("\n".join(lines + [json.dumps(failed), json.dumps(lost)]) + "\n")

recs = [json.loads(line) for line in open(runs)]
ok = [r for r in recs if r.get("status") == "ok"]
assert len(ok) == 13, f"expected 13 records, got {len(ok)}"
ok = [r for r in ok if r["meta"]["env"]["PARARUN_LABEL"] != "round9"]


def rate(rnd, kernel, variant, t):
    (r,) = [r for r in ok if r["meta"]["env"]["PARARUN_LABEL"] == rnd and r["kernel"] == kernel
            and r["variant"] == variant and r["threads"] == t]
    return r["gflops"] if kernel == "matmul" else r["gbytes_per_s"]


rounds = ("round1", "round2", "round3")
want = {
    "peak1": statistics.median(rate(r, "matmul", "blocked", 1) / fma[(r, 1)] for r in rounds),
    "blas1": statistics.median(rate(r, "matmul", "blocked", 1) / rate(r, "matmul", "blas", 1) for r in rounds),
    "peak2": statistics.median(rate(r, "matmul", "blocked", 2) / fma[(r, 2)] for r in rounds),
    "eff2": statistics.median(rate(r, "matmul", "blocked", 2) / (2 * rate(r, "matmul", "blocked", 1))
                              for r in rounds),
    "load1": statistics.median(rate(r, "reduction", "simd", 1) / load[(r, 1)] for r in rounds),
}

bench = os.path.join(work, "bench.jsonl")
open(bench, "w").close()
ceilings = os.path.join(work, "ceilings.json")
with open(ceilings, "w") as f:
    json.dump([], f)
out = subprocess.run([sys.executable, os.path.join(scripts, "bench_table.py"), "--paired",
                      os.path.join(work, "paired-likwid.txt"), runs, bench, ceilings],
                     check=True, capture_output=True, text=True).stdout
print(out)


def line(prefix):
    (found,) = [l for l in out.splitlines() if l.strip().startswith(prefix)]
    return found


def number(text, pattern):
    m = re.search(pattern, text)
    assert m, f"'{pattern}' not in '{text}'"
    return float(m.group(1))


one, two = line("n=96 threads=1:"), line("n=96 threads=2:")
checks = [(number(one, r"([0-9.]+) of likwid-bench's FMA peak"), want["peak1"]),
          (number(one, r"([0-9.]+)x OpenBLAS"), want["blas1"]),
          (number(two, r"([0-9.]+) of likwid-bench's FMA peak"), want["peak2"]),
          (number(two, r"efficiency ([0-9.]+)"), want["eff2"]),
          (number(line("simd threads=1:"), r"([0-9.]+) of likwid-bench's load"), want["load1"])]
for printed, expected in checks:
    assert abs(printed - expected) <= 0.005 + 1e-9, f"printed {printed}, expected {expected:.4f}\n{out}"
assert "3 rounds" in one and "efficiency" not in one, one
assert "OpenBLAS" not in two.split("(")[0], two  # no blas run on 2 threads: no ratio
print("bench_table.py: every paired ratio is the median of its rounds")
