#!/usr/bin/python3
"""Reference figures for the monitoring tests, computed with numpy from samples of known distributions.

The samples come from a 32-bit linear congruential generator that the tests (MonitoringSamples.cs) implement too,
so both sides see the same numbers; numpy computes what the monitor must report. Run it with Debian's python3:
    /usr/bin/python3 tests/InProcServe.Tests/Diagnostics/Monitoring/monitoring_reference.py
It writes monitoring.reference.json next to itself.
"""
import json
import math
import os

import numpy as np

LEVELS = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]
EMPTY = 1e-4


def uniforms(seed, n):
    state = seed
    out = []
    for _ in range(n):
        state = (state * 1664525 + 1013904223) & 0xFFFFFFFF
        out.append((state + 0.5) / 4294967296.0)
    return out


def exponential(seed, n):
    return [-math.log(1.0 - u) for u in uniforms(seed, n)]


def normal(seed, n, mean, sd):
    u = uniforms(seed, 2 * n)
    return [mean + sd * math.sqrt(-2.0 * math.log(u[2 * i])) * math.cos(2.0 * math.pi * u[2 * i + 1]) for i in range(n)]


def shares(values, edges):
    clipped = np.clip(np.asarray(values), edges[0], edges[-1])
    counts = np.histogram(clipped, bins=edges)[0]
    return counts, counts / counts.sum()


def psi(expected, actual):
    e = np.maximum(np.asarray(expected, dtype=float), EMPTY)
    a = np.maximum(np.asarray(actual, dtype=float), EMPTY)
    return float(np.sum((a - e) * np.log(a / e)))


reference = {}

# An output drawn from Exponential(1): quantiles and a histogram on [0, 5] in 10 bins (values above 5 in the last).
values = exponential(1, 5000)
edges = np.linspace(0, 5, 11)
counts, _ = shares(values, edges)
reference["exponential"] = {
    "seed": 1, "count": 5000,
    "quantiles": [float(np.quantile(values, q)) for q in LEVELS],
    "mean": float(np.mean(values)),
    "edges": edges.tolist(),
    "counts": counts.tolist(),
}

# Drift: the primary answers Uniform(0, 1), the canary U^2 (skewed to 0); 10 even bins on [0, 1].
primary = uniforms(7, 4000)
canary = [u * u for u in uniforms(11, 4000)]
edges = np.linspace(0, 1, 11)
_, expected = shares(primary, edges)
_, actual = shares(canary, edges)
baseline_edges = [0.0, 0.2, 0.5, 1.0]
baseline_props = [0.2, 0.3, 0.5]
_, canary_on_baseline = shares(canary, baseline_edges)
_, primary_on_baseline = shares(primary, baseline_edges)
reference["drift"] = {
    "primarySeed": 7, "canarySeed": 11, "count": 4000,
    "psiCanaryVersusPrimary": psi(expected, actual),
    "baselineEdges": baseline_edges, "baselineProportions": baseline_props,
    "psiCanaryVersusBaseline": psi(baseline_props, canary_on_baseline),
    "psiPrimaryVersusBaseline": psi(baseline_props, primary_on_baseline),
}

# Inputs: 30 float32 columns, column j from Normal(j / 10, 1 + j / 30), every 97th row of column 3 NaN.
rows = 3000
columns = []
for j in range(30):
    column = np.asarray(normal(100 + j, rows, j / 10.0, 1.0 + j / 30.0), dtype=np.float32).astype(np.float64)
    if j == 3:
        column[::97] = np.nan
    columns.append({
        "mean": float(np.nanmean(column)),
        "std": float(np.nanstd(column)),
        "count": int(np.count_nonzero(~np.isnan(column))),
        "nan": int(np.count_nonzero(np.isnan(column))),
    })
reference["inputs"] = {"rows": rows, "columns": columns}

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "monitoring.reference.json"), "w") as f:
    json.dump(reference, f, indent=1)
    f.write("\n")
