#!/usr/bin/env python3
"""Writes the generated Matrix Market files of tests/data (the hand-written ones are edge
cases; see README.md). `generate.py` rewrites them, `generate.py --check` (a CTest test)
fails when a committed file differs from what this script writes. Standard library only."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BANNER = "% written by tests/data/generate.py: do not edit, run it\n"


def laplace2d(k):
    """The 2-D 5-point Laplacian on a k x k grid (SPD, order k^2), lower triangle, as
    SuiteSparse stores symmetric matrices."""
    n = k * k
    entries = []
    for i in range(n):
        if i >= k:
            entries.append((i, i - k, -1))
        if i % k:
            entries.append((i, i - 1, -1))
        entries.append((i, i, 4))
    lines = ["%%MatrixMarket matrix coordinate real symmetric\n", BANNER,
             "%% the 5-point Laplacian of a %d x %d grid: row sums 2 (corners), 1 (edges), 0\n" % (k, k),
             "%d %d %d\n" % (n, n, len(entries))]
    lines += ["%d %d %d\n" % (i + 1, j + 1, v) for i, j, v in entries]
    return "".join(lines)


def dense(n):
    """An n x n general dense matrix a(i, j) = (4 i + j) mod 7 + 5 [i == j], column by column,
    its square in a comment."""
    a = [[(4 * i + j) % 7 + (5 if i == j else 0) for j in range(n)] for i in range(n)]
    sq = [[sum(a[i][m] * a[m][j] for m in range(n)) for j in range(n)] for i in range(n)]
    lines = ["%%MatrixMarket matrix array real general\n", BANNER,
             "% A = [" + "; ".join(" ".join(str(v) for v in row) for row in a) + "]\n",
             "% A * A = [" + "; ".join(" ".join(str(v) for v in row) for row in sq) + "]\n",
             "%d %d\n" % (n, n)]
    lines += ["%d\n" % a[i][j] for j in range(n) for i in range(n)]
    return "".join(lines)


FILES = {"generated_laplace2d_4x4.mtx": laplace2d(4), "generated_dense_5x5.mtx": dense(5)}


def main():
    check = sys.argv[1:] == ["--check"]
    if sys.argv[1:] not in ([], ["--check"]):
        print("usage: generate.py [--check]", file=sys.stderr)
        return 2
    stale = []
    for name, text in FILES.items():
        path = os.path.join(HERE, name)
        if check:
            try:
                with open(path) as f:
                    same = f.read() == text
            except OSError:
                same = False
            if not same:
                stale.append(name)
        else:
            with open(path + ".tmp", "w") as f:
                f.write(text)
            os.replace(path + ".tmp", path)
    for name in stale:
        print("tests/data/%s differs from what generate.py writes: run tests/data/generate.py"
              % name, file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
