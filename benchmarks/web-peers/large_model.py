#!/usr/bin/python3
"""A model whose weights don't fit in a CPU cache, for the web peers (run.sh): large.onnx, an MLP 1024 -> 4096 -> 4096 -> 1
with seeded weights (84 MB), written to OUT_DIR with the request body run.sh sends and the numpy answer to it.

Run with Debian's python3-onnx: /usr/bin/python3 benchmarks/web-peers/large_model.py OUT_DIR. Not committed: it is
rebuilt (the same bytes: seeded) at each benchmark run.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models"))
import build_models as bm  # noqa: E402  (models/build_models.py: the committed models' builders)

out = sys.argv[1]
layers = bm.mlp_weights(np.random.default_rng(20261202), [1024, 4096, 4096, 1])
model = bm.make_model(bm.mlp_graph(layers, "large_mlp", 1024, "score"),
                      "MLP 1024 -> 4096 -> 4096 -> 1 (ReLU, sigmoid head), 84 MB of seeded weights: a model whose "
                      "weights outgrow the CPU's caches, where one row per run reads them all from memory.",
                      model_version=1)
bm.check(model)  # the committed models' check: the checker, and shape inference agreeing with the declared outputs
bm.onnx.save(model, os.path.join(out, "large.onnx"))

row = [round(0.001 * ((i * 37) % 997) - 0.5, 3) for i in range(1024)]
expected = bm.mlp_forward(np.array([row], dtype=np.float32), layers)[0, 0]
with open(os.path.join(out, "large.json"), "w") as f:
    json.dump({"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 1024], "data": row}]}, f)
with open(os.path.join(out, "large.expected"), "w") as f:
    f.write(repr(float(expected)))
