#!/usr/bin/python3
"""scripts/pararun_results.py loads real records into a pandas DataFrame: one row per record,
numbers as numbers, a half-written line skipped with a warning naming its file and line.

  check_loader.py PARARUN SCRIPTS_DIR WORK_DIR
Exit 77 (skipped) without Debian's python3-pandas."""
import contextlib
import io
import os
import shutil
import subprocess
import sys

try:
    import pandas as pd
except ImportError:
    print("python3-pandas is not installed (apt-get install python3-pandas): skipped")
    sys.exit(77)

exe, scripts, work = sys.argv[1:4]
sys.path.insert(0, scripts)
import pararun_results as pr  # noqa: E402

shutil.rmtree(work, ignore_errors=True)
os.makedirs(os.path.join(work, "study"))
out = os.path.join(work, "study", "results.jsonl")
env = dict(os.environ, PARARUN_TUNING=os.path.join(work, "no-tuning.json"))
for args in (["reduction", "-b", "seq", "-n", "2^12"], ["matmul", "-b", "omp", "-t", "2", "-n", "64"]):
    subprocess.run([exe, "run", *args, "-r", "2", "-o", out], check=True, env=env,
                   stdout=subprocess.DEVNULL)
with open(out, "a") as f:
    f.write('{"kind": "run", "kernel": "half-writ')  # a crash mid-append

failures = []


def expect(ok, what):
    print(("ok: " if ok else "FAILED: ") + what)
    if not ok:
        failures.append(what)


err = io.StringIO()
with contextlib.redirect_stderr(err):
    df = pr.frame(os.path.join(work, "study"))  # the folder: its results.jsonl
expect(len(df) == 2, f"2 rows, got {len(df)}")
expect(f"{out}:3: not a record, skipped" in err.getvalue(), "the half line is named: " + err.getvalue().strip())
expect(list(df.kernel) == ["reduction", "matmul"], f"kernels {list(df.kernel)}")
expect(list(df.rate_unit) == ["GB/s", "GFLOP/s"], f"units {list(df.rate_unit)}")
expect(list(df.pes) == [1, 2] and str(df.pes.dtype) == "Int64", f"pes {list(df.pes)} {df.pes.dtype}")
# JSON of another program and a record schema this script does not read are skipped, named.
mixed = os.path.join(work, "mixed.jsonl")
with open(out) as f, open(mixed, "w") as m:
    m.write('{"hello": "world"}\n{"schema": "pararun.record/9", "kernel": "x"}\n' + f.readline())
err = io.StringIO()
with contextlib.redirect_stderr(err):
    kept = list(pr.records(mixed))
expect([r["kernel"] for r in kept] == ["reduction"], f"only the record kept: {kept}")
expect(f"{mixed}:1: not a record, skipped" in err.getvalue()
       and f"{mixed}:2: schema pararun.record/9 is not one this script reads" in err.getvalue(),
       "each skipped line named: " + err.getvalue().strip())
expect((df.rate > 0).all() and df.rate.dtype == float, "rates are positive numbers")
expect((df.ci_low_s <= df.median_s).all() and (df.median_s <= df.ci_high_s).all(),
       "each median lies in its CI")
expect(str(df.timestamp.dtype).startswith("datetime64") and df.timestamp.notna().all(),
       f"timestamps are datetimes ({df.timestamp.dtype})")
expect(list(df.status) == ["ok", "ok"] and list(df.verification) == ["passed", "passed"],
       f"statuses {list(df.status)}, verification {list(df.verification)}")
expect(df.commit.notna().all(), "each row names its commit")
# The same file named directly; and the script writes a CSV with every column.
with contextlib.redirect_stderr(io.StringIO()):
    expect(len(pr.frame(out)) == 2, "the file itself loads too")
csv = os.path.join(work, "frame.csv")
subprocess.run([sys.executable, os.path.join(scripts, "pararun_results.py"), out, csv], check=True,
               stderr=subprocess.DEVNULL)
back = pd.read_csv(csv)
expect(list(back.columns) == list(pr.COLUMNS) and len(back) == 2, "the CSV has every column and row")
# An output that is the input, another name of it, or another file of records is refused
# and left as it was (the CSV replaced the records it was made from).
before = open(out).read()
os.link(out, os.path.join(work, "second-name.jsonl"))
shutil.copy(out, os.path.join(work, "other.jsonl"))
# A study's indented JSON and a results file whose first line is damaged are not recognised
# as records: replaced by the CSV, until a file not named .csv was refused.
with open(os.path.join(work, "study.json"), "w") as f:
    f.write('{\n  "schema": "pararun.study/1",\n  "points": []\n}\n')
with open(os.path.join(work, "damaged.jsonl"), "w") as f:
    f.write("{\"schema\": \"pararun.rec\n" + before)
for target in (out, os.path.join(work, "second-name.jsonl"), os.path.join(work, "other.jsonl"),
               os.path.join(work, "study.json"), os.path.join(work, "damaged.jsonl")):
    p = subprocess.run([sys.executable, os.path.join(scripts, "pararun_results.py"), out, target],
                       capture_output=True, text=True)
    expect(p.returncode != 0 and "pararun_results.py: " in p.stderr and len(p.stderr.splitlines()) == 1,
           f"CSV over {os.path.basename(target)} refused in one line: {p.stderr.strip()}")
expect(open(out).read() == before, "the records are untouched")
# Nor a study's own file, such as its speedup.csv (the C++ side refuses it too).
study_csv = os.path.join(work, "own", "speedup.csv")
os.makedirs(os.path.dirname(study_csv))
for name, text in (("study.json", '{"schema": "pararun.study/1"}\n'), ("speedup.csv", "mine\n")):
    with open(os.path.join(work, "own", name), "w") as f:
        f.write(text)
p = subprocess.run([sys.executable, os.path.join(scripts, "pararun_results.py"), out, study_csv],
                   capture_output=True, text=True)
expect(p.returncode != 0 and "own file" in p.stderr and len(p.stderr.splitlines()) == 1,
       f"CSV over a study's speedup.csv refused in one line: {p.stderr.strip()}")
expect(open(study_csv).read() == "mine\n", "the study's speedup.csv is untouched")
expect(open(os.path.join(work, "study.json")).read().startswith("{\n  \"schema\""), "study.json is untouched")
# A missing input, a wrong argument count: one line each (exit 1 and 2), no traceback.
for args, code, said in (([os.path.join(work, "none")], 1, "no such file or folder"),
                         ([], 2, "usage: pararun_results.py PATH [OUT.csv]")):
    p = subprocess.run([sys.executable, os.path.join(scripts, "pararun_results.py")] + args,
                       capture_output=True, text=True)
    expect(p.returncode == code and len(p.stderr.splitlines()) == 1 and said in p.stderr,
           f"{args}: exit {p.returncode}, {p.stderr.strip()}")
# A first "--" ends the options: "-h" after it is a path (a study folder of that name), not
# a call for help; before it, or without it, it is.
for args, code, said in ((["--", "-h"], 1, "-h"), (["-h"], 2, "usage: pararun_results.py")):
    p = subprocess.run([sys.executable, os.path.join(scripts, "pararun_results.py")] + args,
                       capture_output=True, text=True, cwd=work)
    expect(p.returncode == code and len(p.stderr.splitlines()) == 1 and said in p.stderr,
           f"{args}: exit {p.returncode}, {p.stderr.strip()}")
# A FIFO at the output is not opened to look for records (the open blocked for ever): the CSV
# replaces it. (timeout: a hang fails the check instead of the whole suite.)
fifo = os.path.join(work, "fifo.csv")
os.mkfifo(fifo)
try:
    p = subprocess.run([sys.executable, os.path.join(scripts, "pararun_results.py"), out, fifo],
                       capture_output=True, text=True, timeout=60)
    expect(p.returncode == 0 and os.path.isfile(fifo), f"CSV over a FIFO written: {p.stderr.strip()}")
except subprocess.TimeoutExpired:
    expect(False, "CSV over a FIFO hung")
# plot_concurrency.py: not through a link at OUT onto its records (savefig wrote the PNG there).
conc = os.path.join(work, "concurrency.jsonl")
subprocess.run([exe, "concurrency", "--tasks", "1", "--reps", "1", "--wait", "0", "--steps", "1000",
                "-o", conc], check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
conc_before = open(conc).read()
png_link = os.path.join(work, "plot.png")
os.symlink(conc, png_link)
plot = os.path.join(scripts, "plot_concurrency.py")
p = subprocess.run([sys.executable, plot, conc, png_link], capture_output=True, text=True)
expect(p.returncode != 0 and p.stderr.startswith("plot_concurrency.py: ")
       and len(p.stderr.splitlines()) == 1, f"a plot over its records refused: {p.stderr.strip()}")
expect(open(conc).read() == conc_before, "the concurrency records are untouched")
p = subprocess.run([sys.executable, plot, conc, os.path.join(work, "c.png")], capture_output=True,
                   text=True)
expect(p.returncode == 0 and open(os.path.join(work, "c.png"), "rb").read(8) == b"\x89PNG\r\n\x1a\n",
       f"the plot is a PNG: {p.stderr.strip()}")
sys.exit(1 if failures else 0)
