#!/usr/bin/python3
"""Loads ParaRun's results for other tools: records from a JSON Lines file or a results
folder (a study, batch or submit folder), and a pandas DataFrame of them, one row per record.

    import pararun_results as pr
    df = pr.frame("results/study-20261202-101500")          # needs Debian's python3-pandas
    df[df.status == "ok"].groupby(["kernel", "backend", "pes"]).rate.median()
    for r in pr.records("results.jsonl"): ...               # plain dicts, no pandas

As a script: `pararun_results.py PATH [OUT.csv]` prints the frame (or writes it as CSV).
Lines that are not records (a half-written last line, text, JSON of another program or a
record schema this script does not read) are skipped with a warning on stderr naming the file
and line, as `pararun report` does.
"""
import contextlib
import json
import os
import stat
import sys
import tempfile

# The flat columns of frame(): name -> where it is in a record.
COLUMNS = {
    "kind": ("kind",), "kernel": ("kernel",), "backend": ("backend",), "variant": ("variant",),
    "size": ("size",), "threads": ("threads",), "ranks": ("ranks",), "pes": ("pes",),
    "status": ("status",), "oversubscribed": ("oversubscribed",), "point": ("point",),
    "median_s": ("time", "median"), "min_s": ("time", "min"), "ci_low_s": ("time", "ci", 0),
    "ci_high_s": ("time", "ci", 1), "reps": ("reps",), "rate": ("rate", "value"),
    "rate_unit": ("rate", "unit"), "gflops": ("gflops",), "gbytes_per_s": ("gbytes_per_s",),
    "verification": ("verification", "status"), "timestamp": ("meta", "timestamp"),
    "commit": ("meta", "build", "git_commit"), "build_id": ("meta", "build", "build_id"),
    "cpu_model": ("meta", "cpu_model"),
    "label": ("batch", "label"), "batch_job": ("batch", "job"), "error": ("error",),
}


# The record schemas read (pararun's kRecordSchema and kRecordSchemaV1, record.hpp).
SCHEMAS = ("pararun.record/1", "pararun.record/2")

# What a study or batch folder replaces or removes itself (files.cpp's kReplacedFiles).
OWN_FILES = ("results.jsonl", "batch.json", "checkpoint.json", "summary.json", "study.json",
             "report.md", "speedup.csv", "analysis.json", "lock", "compare.json")


def record_files(path):
    """The JSON Lines files of `path`: the file itself, or a folder's results.jsonl (else
    every *.jsonl in it)."""
    if os.path.isdir(path):
        main = os.path.join(path, "results.jsonl")
        if os.path.isfile(main):
            return [main]
        return sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith(".jsonl"))
    return [path]


def records(*paths):
    """Every record of the files or folders in `paths`, in order, as dicts."""
    for path in paths:
        for f in record_files(path):
            with open(f, errors="replace") as lines:
                for number, line in enumerate(lines, 1):
                    if not line.strip():
                        continue
                    try:
                        r = json.loads(line)
                    except json.JSONDecodeError:
                        r = None
                    if not isinstance(r, dict) or not str(r.get("schema", "")).startswith(
                            "pararun.record/"):
                        print(f"pararun_results: {f}:{number}: not a record, skipped", file=sys.stderr)
                        continue
                    if r["schema"] not in SCHEMAS:
                        print(f"pararun_results: {f}:{number}: schema {r['schema']} is not one this "
                              f"script reads ({', '.join(SCHEMAS)}), skipped", file=sys.stderr)
                        continue
                    yield r


def _get(r, where):
    for key in where:
        if isinstance(r, dict):
            r = r.get(key)
        elif isinstance(r, list) and isinstance(key, int) and key < len(r):
            r = r[key]
        else:
            return None
    return r


def frame(*paths):
    """A pandas DataFrame of the records of `paths`: one row per record, the COLUMNS (missing
    values as NaN/None), timestamps as UTC datetimes."""
    import pandas as pd  # only frame() needs pandas

    rows = [{name: _get(r, where) for name, where in COLUMNS.items()} for r in records(*paths)]
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    for c in ("size", "threads", "ranks", "pes", "reps"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
    for c in ("median_s", "min_s", "ci_low_s", "ci_high_s", "rate", "gflops", "gbytes_per_s"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True, errors="coerce")
    return df


def _holds_records(path):
    """Whether the first line of `path` that says something is a ParaRun record. Only a regular
    file is opened (a FIFO would block), and only its first 64 MiB line is read (a file of one
    huge line is not read whole into memory), as the C++ side does."""
    try:
        # O_NONBLOCK: a FIFO put there after a check would not block the open; fstat decides.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as f:
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return False
            while True:
                line = f.readline(64 << 20)
                if not line:
                    break
                if line.strip():
                    r = json.loads(line.decode(errors="replace"))
                    return isinstance(r, dict) and str(r.get("schema", "")).startswith("pararun.")
        except (OSError, ValueError):
            pass
    return False


def csv_output_problem(out, inputs, what="a CSV", suffixes=(".csv",)):
    """Why `out` must not be replaced by `what` ("" when it may): it is one of the record files
    read, holds records (a second name of one, another results file), or is a file that is not
    empty and whose name does not end in one of `suffixes` (a study's indented study.json or
    analysis.json, a results file whose first line is damaged: not recognised as records, they
    were replaced)."""
    if os.path.isdir(out):
        return f"{out} is a folder"
    folder = os.path.dirname(os.path.abspath(out))
    if os.path.basename(out) in OWN_FILES and any(
            os.path.lexists(os.path.join(folder, m)) for m in ("study.json", "batch.json")):
        return f"{out} is a study's or batch's own file: it is not replaced by {what} (name another)"
    if os.path.exists(out):
        for f in inputs:
            if os.path.exists(f) and os.path.samefile(out, f):
                return f"{out} is also an input ({f}): it would be destroyed"
        if _holds_records(out):
            return f"{out} holds ParaRun records: it is not replaced by {what}"
        if not out.lower().endswith(tuple(suffixes)) and os.path.isfile(out) and os.path.getsize(out):
            return (f"{out} exists and is not a {' or '.join(suffixes)} file: it is not replaced by "
                    f"{what} (name a new file)")
    return ""


def script_main(prog, usage, main, counts):
    """Runs main(*sys.argv[1:]) as a script's entry: a wrong argument count is one usage line
    and exit 2; an input that cannot be read or is not what it should be is one line naming
    it and exit 1 (never a traceback). A first argument "--" ends the options: what follows
    are paths even where one reads -h (pararun passes its study folder so)."""
    args = sys.argv[1:]
    ended = args[:1] == ["--"]
    if ended:
        args = args[1:]
    if len(args) not in counts or (not ended and any(a in ("-h", "--help") for a in args)):
        print(f"usage: {usage}", file=sys.stderr)
        sys.exit(2)
    try:
        main(*args)
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        sys.exit(f"{prog}: error: {where}{e.strerror or e}")
    except ImportError as e:  # (pandas, matplotlib: Debian's packages, PyPI is not needed)
        sys.exit(f"{prog}: error: {e}: install Debian's python3-{e.name or 'pandas'}")
    except Exception as e:  # (a field of another type in an edited file: one line, not a trace)
        sys.exit(f"{prog}: error: {type(e).__name__}: {e} (not a file of ParaRun's?)")


def write_atomically(out, mode, write):
    """Calls write(f) on a new file beside `out` (opened with `mode`, "w" or "wb"), then
    renames it over `out`: whole or not at all, and a link at `out` (to results.jsonl, to
    another user's file) is replaced, never written through. Honours the umask."""
    folder = os.path.dirname(os.path.abspath(out))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(out) + ".")
    try:
        umask = os.umask(0)
        os.umask(umask)
        with contextlib.suppress(OSError):  # (a file system without modes)
            os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, mode) as f:
            write(f)
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def main(path, out=None):
    if not os.path.exists(path):
        raise FileNotFoundError(2, "no such file or folder", path)
    if out is not None:
        problem = csv_output_problem(out, record_files(path))
        if problem:
            sys.exit("pararun_results.py: " + problem)
    df = frame(path)
    if out is not None:
        write_atomically(out, "w", lambda f: df.to_csv(f, index=False))
    else:
        with __import__("pandas").option_context("display.width", 200, "display.max_columns", 12):
            print(df)


if __name__ == "__main__":
    script_main("pararun_results.py", "pararun_results.py PATH [OUT.csv]", main, (1, 2))
