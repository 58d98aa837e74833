#!/usr/bin/python3
"""Every kind of record pararun writes is valid against runtime/results/record.schema.json,
and records with a wrong field are not.

  check_records.py PARARUN SCHEMA WORK_DIR

Makes real records: runs that verify and one that does not, an MPI run under mpirun, one
with a ceiling, the concurrency demo, a study point whose launcher fails (an error record)
and a batch job; validates every line of every file; then checks that broken copies fail.
Exit 77 (skipped) without Debian's python3-jsonschema."""
import copy
import json
import os
import shutil
import subprocess
import sys

try:
    import jsonschema
except ImportError:
    print("python3-jsonschema is not installed (apt-get install python3-jsonschema): skipped")
    sys.exit(77)

exe, schema_path, work = sys.argv[1:4]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
env = dict(os.environ)
if os.geteuid() == 0:
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
env["PARARUN_TUNING"] = os.path.join(work, "no-tuning.json")


def run(args, expect=0, extra_env=None):
    e = dict(env, **(extra_env or {}))
    p = subprocess.run(args, cwd=work, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if p.returncode != expect:
        sys.exit(f"FAILED: {' '.join(args)} exited {p.returncode}, expected {expect}\n{p.stderr}")


runs = os.path.join(work, "runs.jsonl")
run([exe, "run", "daxpy", "-b", "seq", "-n", "1000", "-r", "3", "-o", runs])
run([exe, "run", "matmul", "-b", "omp", "-t", "2", "-n", "64", "--inject-fault", "-o", runs],
    expect=1)
with open(os.path.join(work, "ceilings.json"), "w") as f:
    json.dump([{"threads": 1, "fma_gflops": 50.0, "read_gbytes_per_s": 20.0,
                "read_gbytes_per_s_median": 18.0}], f)
run([exe, "run", "matmul", "-b", "seq", "-n", "64", "--ceilings", "ceilings.json", "-o", runs])
run(["mpirun", "-n", "2", "--oversubscribe", exe, "run", "stencil", "-b", "mpi", "-n", "200",
     "-r", "3", "-o", runs])
run([exe, "concurrency", "--tasks", "2", "--reps", "1", "--wait", "0.01", "--steps", "10000",
     "-o", "concurrency.jsonl"])
# A study whose launcher fails: its point gets an error record.
fake = os.path.join(work, "fakebin")
os.makedirs(fake)
with open(os.path.join(fake, "mpirun"), "w") as f:
    f.write("#!/bin/sh\nexit 7\n")
os.chmod(os.path.join(fake, "mpirun"), 0o755)
run([exe, "study", "--kernels", "reduction", "--backends", "seq,mpi", "--ranks", "1",
     "--sizes", "2^10", "--reps", "2", "--out", "study"], expect=1,
    extra_env={"PATH": fake + ":" + env["PATH"]})
with open(os.path.join(work, "batch.yaml"), "w") as f:
    f.write("jobs:\n  - kernel: daxpy\n    backend: omp\n    threads: 2\n    size: 1000\n"
            "    reps: 2\n")
run([exe, "batch", "run", "batch.yaml", "-o", "batch"])

schema = json.load(open(schema_path))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
records = []
for path in (runs, "concurrency.jsonl", "study/results.jsonl", "batch/results.jsonl"):
    for number, line in enumerate(open(os.path.join(work, path)), 1):
        record = json.loads(line)
        errors = sorted(validator.iter_errors(record), key=str)
        if errors:
            sys.exit(f"FAILED: {path}:{number} ({record.get('kind')}, {record.get('kernel')}) "
                     f"is not valid: {errors[0].message} at {list(errors[0].absolute_path)}")
        records.append(record)

kinds = {r["kind"] for r in records}
statuses = {r["status"] for r in records}
if kinds != {"run", "error", "concurrency"} or statuses != {"ok", "verification_failed", "error"}:
    sys.exit(f"FAILED: the records cover kinds {sorted(kinds)} and statuses {sorted(statuses)}")
for what, test in (("an MPI run", lambda r: r.get("ranks") == 2),
                   ("a ceiling", lambda r: "ceiling" in r),
                   ("a batch job", lambda r: "batch" in r)):
    if not any(test(r) for r in records):
        sys.exit(f"FAILED: no record of {what}")

# Broken copies must fail: the schema is not a rubber stamp.
run_record = next(r for r in records if r["kind"] == "run" and r["status"] == "ok")
error_record = next(r for r in records if r["kind"] == "error")


def broken(base, change):
    r = copy.deepcopy(base)
    change(r)
    return r


for name, bad in (
        ("time as text", broken(run_record, lambda r: r.update(time="fast"))),
        ("another schema", broken(run_record, lambda r: r.update(schema="pararun.record/9"))),
        ("an unknown status", broken(run_record, lambda r: r.update(status="great"))),
        ("a run without verification", broken(run_record, lambda r: r.pop("verification"))),
        ("a negative median", broken(run_record, lambda r: r["time"].update(median=-1))),
        ("a rate in parsecs", broken(run_record, lambda r: r["rate"].update(unit="pc/s"))),
        ("an error record without exit code", broken(error_record, lambda r: r.pop("exit_code"))),
        ("a result as text", broken(run_record, lambda r: r["results"].update(checksum="x")))):
    if validator.is_valid(bad):
        sys.exit(f"FAILED: a record with {name} passed the schema")
print(f"{len(records)} records of kinds {sorted(kinds)} valid against {schema_path}; "
      "8 broken copies refused")
