#!/usr/bin/python3
"""Fixture for tests/search/adaptation_test.cpp: the two statistics behind `anchored`.

Writes tests/data/adapt/anchored_stats.csv with rows

  student_t,t,dof,,cdf        scipy.stats.t.cdf(t, dof)
  williams,r_ya,r_yb,r_ab,n,t Williams' t for H0 rho(y, a) = rho(y, b) (Steiger 1980, Eq. 3)

Williams' t is computed here from the determinant of the 3 x 3 correlation matrix
(numpy.linalg.det), not from its expansion as proxysim writes it:

  t = (r_ya - r_yb) sqrt((n - 1)(1 + r_ab) / (2 (n - 1)/(n - 3) |R| + rbar^2 (1 - r_ab)^3)),
  rbar = (r_ya + r_yb) / 2.

  /usr/bin/python3 scripts/dev/make_anchored_fixtures.py
"""
import csv
import os

import numpy as np
from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "data", "adapt", "anchored_stats.csv")


def williams(r_ya, r_yb, r_ab, n):
    det = np.linalg.det(np.array([[1, r_ya, r_yb], [r_ya, 1, r_ab], [r_yb, r_ab, 1]]))
    rbar = (r_ya + r_yb) / 2
    return (r_ya - r_yb) * np.sqrt((n - 1) * (1 + r_ab) / (2 * (n - 1) / (n - 3) * det + rbar**2 * (1 - r_ab) ** 3))


def main():
    rows = []
    for t, dof in [(0.0, 17), (0.5, 17), (1.3, 17), (1.740, 17), (-2.0, 27), (2.5, 27), (3.5, 5), (-0.2, 1),
                   (8.0, 3), (1.0, 100), (-4.0, 2.5), (12.0, 40)]:
        rows.append(["student_t", repr(t), repr(dof), "", repr(float(stats.t.cdf(t, dof)))])
    for r_ya, r_yb, r_ab, n in [(0.9, 0.7, 0.75, 20), (0.84, 0.31, 0.36, 20), (0.95, 0.6, 0.6, 30),
                                (0.5, 0.6, 0.8, 30), (0.72, 0.71, 0.99, 20), (0.3, -0.2, 0.1, 12),
                                (0.99, 0.97, 0.96, 104)]:
        rows.append(["williams", repr(r_ya), repr(r_yb), repr(r_ab), repr(n), repr(float(williams(r_ya, r_yb, r_ab, n)))])
    with open(OUT, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["kind", "a", "b", "c", "d", "value"])
        for r in rows:
            # student_t rows: a = t, b = dof, value = cdf; williams rows: a..d = r_ya, r_yb, r_ab, n.
            w.writerow(r if r[0] == "williams" else [r[0], r[1], r[2], "", "", r[4]])
    print(f"wrote {os.path.relpath(OUT)} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
