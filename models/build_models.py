#!/usr/bin/python3
"""Build the small ONNX test models and their reference outputs.

Run from the repository root with Debian's Python (package ``python3-onnx``,
which brings ``onnx`` and ``numpy``):

    /usr/bin/python3 models/build_models.py

Everything is written next to this script: ``<name>.onnx`` and
``<name>.reference.json`` for each model below. The build is deterministic
(fixed numpy seeds, fixed key order), so re-running it reproduces the files
byte for byte.

The reference outputs are computed with numpy alone, independently of ONNX
Runtime, so the C# tests compare the engine against an implementation that
shares no code with it.

Models (opset 17, IR version 8):

    fraud.onnx      30 -> 64 -> 32 -> 1 MLP with a sigmoid head, with metadata
    fraud_retrained.onnx  fraud.onnx with other weights: a second version of the same model
    multi_io.onnx   two inputs, three outputs of mixed element types
    all_types.onnx  one identity-like pass-through per supported element type
    typed.onnx      all_types.onnx without float16: the types with a typed gRPC contents field
    dynamic.onnx    two symbolic dimensions ("batch", "seq")
    fixed.onnx      fully static shape [2, 3], for shape-mismatch tests
    wide.onnx       256 -> 960 -> 960 -> 1 MLP, 4.5 MB of weights, for weight-sharing tests

Reference JSON schema:

    {
      "model": "fraud.onnx",
      "tolerance": 1e-05,          # absolute tolerance for float outputs
      "cases": [
        {
          "inputs":  {"<name>": {"type": "float32", "shape": [16, 30],
                                 "data": [... flat, row-major ...]}},
          "outputs": {"<name>": {...same layout...}}
        }
      ]
    }
"""

import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))

OPSET = 17
IR_VERSION = 8
PRODUCER_NAME = "InProcServe models/build_models.py"
PRODUCER_VERSION = "1"

INT64_MIN = np.iinfo(np.int64).min

# Element types: name used in tensor names -> (ONNX type, numpy dtype,
# type string used in the reference JSON). Order matters: all_types.onnx
# declares its inputs and outputs in this order.
ELEMENT_TYPES = [
    ("float", TensorProto.FLOAT, np.float32, "float32"),
    ("double", TensorProto.DOUBLE, np.float64, "float64"),
    ("float16", TensorProto.FLOAT16, np.float16, "float16"),
    ("int8", TensorProto.INT8, np.int8, "int8"),
    ("int16", TensorProto.INT16, np.int16, "int16"),
    ("int32", TensorProto.INT32, np.int32, "int32"),
    ("int64", TensorProto.INT64, np.int64, "int64"),
    ("uint8", TensorProto.UINT8, np.uint8, "uint8"),
    ("uint16", TensorProto.UINT16, np.uint16, "uint16"),
    ("uint32", TensorProto.UINT32, np.uint32, "uint32"),
    ("uint64", TensorProto.UINT64, np.uint64, "uint64"),
    ("bool", TensorProto.BOOL, np.bool_, "bool"),
]

JSON_TYPE = {np.dtype(dtype): name for _, _, dtype, name in ELEMENT_TYPES}


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def make_model(graph, doc, model_version, metadata=None):
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name=PRODUCER_NAME,
        producer_version=PRODUCER_VERSION,
        doc_string=doc,
        model_version=model_version,
    )
    # make_model picks the IR version of the installed onnx package; pin it so
    # the files do not change with the onnx version used to build them.
    model.ir_version = IR_VERSION
    if metadata:
        helper.set_model_props(model, metadata)
    return model


def check(model):
    """Validate a model and confirm shape inference agrees with the outputs we declared."""
    onnx.checker.check_model(model, full_check=True)
    # Drop the declared output shapes and let shape inference derive them from
    # the graph alone; if they come back different, the declaration is wrong.
    stripped = onnx.ModelProto()
    stripped.CopyFrom(model)
    for out in stripped.graph.output:
        out.type.tensor_type.ClearField("shape")
    inferred = onnx.shape_inference.infer_shapes(stripped, check_type=True, strict_mode=True)
    declared = {o.name: o.type for o in model.graph.output}
    for out in inferred.graph.output:
        # Shape inference can't see through Loop: a shape it leaves out is not a contradiction.
        if not out.type.tensor_type.HasField("shape"):
            out.type.tensor_type.shape.CopyFrom(declared[out.name].tensor_type.shape)
        if out.type != declared[out.name]:
            raise AssertionError(f"{model.graph.name}: output {out.name} inferred as {out.type}, "
                                 f"declared as {declared[out.name]}")


def save_model(model, name):
    check(model)
    onnx.save(model, os.path.join(HERE, name))


def tensor_json(array):
    """One tensor in the reference schema, with data that round-trips exactly."""
    # np.ascontiguousarray would turn a scalar into shape [1]; np.asarray keeps shape [].
    array = np.asarray(array, order="C")
    dtype = array.dtype
    if dtype.kind in "OU":
        return {"type": "string", "shape": list(array.shape), "data": [str(v) for v in array.reshape(-1)]}
    flat = array.reshape(-1)
    if dtype == np.bool_:
        data = [bool(v) for v in flat]
    elif dtype.kind in "iu":
        # Python ints, so 64-bit values are written as exact JSON integers.
        data = [int(v) for v in flat]
    else:
        # float(np.float32(v)) is the exact value as a Python float; json writes
        # its repr, which parses back to the same double, and hence to the
        # same float32/float16 after narrowing.
        data = [float(v) for v in flat]
    return {"type": JSON_TYPE[dtype], "shape": list(array.shape), "data": data}


def dumps_compact(value):
    return json.dumps(value, allow_nan=False)


def write_reference(name, model_file, tolerance, cases):
    """Write <name>.reference.json: indented structure, one line per tensor."""
    lines = ["{",
             f'  "model": {dumps_compact(model_file)},',
             f'  "tolerance": {dumps_compact(float(tolerance))},',
             '  "cases": [']
    for ci, case in enumerate(cases):
        lines.append("    {")
        for si, section in enumerate(("inputs", "outputs")):
            tensors = case[section]
            lines.append(f'      "{section}": {{')
            for ti, (tname, array) in enumerate(tensors.items()):
                comma = "," if ti < len(tensors) - 1 else ""
                lines.append(f"        {dumps_compact(tname)}: {dumps_compact(tensor_json(array))}{comma}")
            lines.append("      }" + ("," if si == 0 else ""))
        lines.append("    }" + ("," if ci < len(cases) - 1 else ""))
    lines += ["  ]", "}", ""]
    text = "\n".join(lines)
    json.loads(text)  # guard against a formatting slip
    with open(os.path.join(HERE, name), "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def const_i64(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


# ---------------------------------------------------------------------------
# 1. fraud.onnx: fraud-scoring MLP 30 -> 64 -> 32 -> 1
# ---------------------------------------------------------------------------


def mlp_weights(rng, sizes):
    """Weights and biases of an MLP whose layer widths are `sizes`, input first."""
    layers = []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        # He initialisation suits the ReLU layers; biases small but non-zero so
        # a wiring mistake with the bias inputs shows up in the outputs.
        w = (rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        b = (rng.standard_normal(fan_out) * 0.1).astype(np.float32)
        layers.append((w, b))
    return layers


def fraud_weights(rng):
    return mlp_weights(rng, [30, 64, 32, 1])


def fraud_features(rng, rows):
    """Transaction-like rows: standardised components at mixed scales plus a
    non-negative log-amount and a [0, 1) time-of-day column."""
    scales = np.geomspace(0.1, 3.0, 28)
    components = rng.standard_normal((rows, 28)) * scales
    log_amount = rng.lognormal(mean=0.5, sigma=0.8, size=(rows, 1))
    time_of_day = rng.random((rows, 1))
    return np.concatenate([components, log_amount, time_of_day], axis=1).astype(np.float32)


def mlp_forward(x, layers):
    # Computed in float64 from the float32 inputs and weights, then rounded to
    # float32: this is the closest float32 to the exact answer. ONNX Runtime
    # works in float32 with its own summation order, so it differs by rounding
    # error only (well under the 1e-5 tolerance for outputs in [0, 1]).
    h = x.astype(np.float64)
    for i, (w, b) in enumerate(layers):
        h = h @ w.astype(np.float64) + b.astype(np.float64)
        if i < len(layers) - 1:
            h = np.maximum(h, 0.0)
    return (1.0 / (1.0 + np.exp(-h))).astype(np.float32)


def mlp_graph(layers, name, features, output, gemm_attributes=None, doc_string=None):
    """Gemm (+ Relu) per layer of mlp_weights, a sigmoid head: features float[batch, features] -> output float[batch, 1]."""
    initializers = []
    nodes = []
    current = "features"
    for i, (w, b) in enumerate(layers, start=1):
        initializers += [numpy_helper.from_array(w, f"W{i}"), numpy_helper.from_array(b, f"b{i}")]
        gemm_out = f"gemm{i}"
        nodes.append(helper.make_node("Gemm", [current, f"W{i}", f"b{i}"], [gemm_out],
                                      name=f"Gemm{i}", **(gemm_attributes or {})))
        if i < len(layers):
            current = f"relu{i}"
            nodes.append(helper.make_node("Relu", [gemm_out], [current], name=f"Relu{i}"))
        else:
            nodes.append(helper.make_node("Sigmoid", [gemm_out], [output], name="Sigmoid"))

    return helper.make_graph(
        nodes, name,
        inputs=[helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", features])],
        outputs=[helper.make_tensor_value_info(output, TensorProto.FLOAT, ["batch", 1])],
        initializer=initializers,
        doc_string=doc_string,
    )


def calibrate_fraud(layers, rows=4096, flagged=0.1):
    """Shift the output bias so that about `flagged` of typical transactions score above 0.5,
    as a fraud model would: most traffic is clean."""
    x = fraud_features(np.random.default_rng(7), rows)
    probabilities = mlp_forward(x, layers).astype(np.float64)
    logits = np.log(probabilities / (1.0 - probabilities))
    w, b = layers[-1]
    layers[-1] = (w, (b - np.quantile(logits, 1.0 - flagged)).astype(np.float32))
    return layers


def build_fraud():
    build_fraud_mlp("fraud", seed=20240301, model_version=3,
                    doc="Fraud-scoring MLP (30 -> 64 -> 32 -> 1, ReLU, sigmoid head). Synthetic seeded "
                        "weights; a stand-in for a real tabular model in InProcServe tests.")


def build_fraud_retrained():
    # fraud.onnx's signature with other weights: a new version of the model, whose answers differ from
    # fraud.onnx's on the same rows, so a test can tell which version computed a result.
    build_fraud_mlp("fraud_retrained", seed=20240901, model_version=4,
                    doc="fraud.onnx retrained: the same MLP and signature with other seeded weights, "
                        "for tests that serve two versions of one model side by side.")


def build_fraud_mlp(name, seed, model_version, doc):
    rng = np.random.default_rng(seed)
    layers = calibrate_fraud(fraud_weights(rng))

    graph = mlp_graph(layers, "fraud_mlp", 30, "probability", gemm_attributes={"transB": 0},
                      doc_string="Gemm-Relu-Gemm-Relu-Gemm-Sigmoid over 30 transaction features.")
    model = make_model(
        graph,
        doc,
        model_version=model_version,
        metadata={"task": "fraud-scoring", "threshold": "0.5", "features": "30"},
    )
    save_model(model, f"{name}.onnx")

    # The same rows for every fraud model (seed 7), so their references line up row by row.
    data_rng = np.random.default_rng(7)
    cases = []
    for rows in (16, 1):
        x = fraud_features(data_rng, rows)
        cases.append({"inputs": {"features": x},
                      "outputs": {"probability": mlp_forward(x, layers)}})
    write_reference(f"{name}.reference.json", f"{name}.onnx", 1e-5, cases)


# ---------------------------------------------------------------------------
# 2. multi_io.onnx: two inputs, three outputs (float and int64)
# ---------------------------------------------------------------------------


def build_multi_io():
    nodes = [
        helper.make_node("Add", ["a", "b"], ["sum"], name="Add"),
        helper.make_node("Mul", ["a", "b"], ["ab"], name="Mul"),
        # Since opset 13 ReduceSum takes its axes as an input, not an attribute.
        helper.make_node("ReduceSum", ["ab", "axes"], ["dot"], name="ReduceSum", keepdims=1),
        helper.make_node("ArgMax", ["a"], ["argmax"], name="ArgMax", axis=1, keepdims=0),
    ]
    graph = helper.make_graph(
        nodes, "multi_io",
        inputs=[helper.make_tensor_value_info("a", TensorProto.FLOAT, ["batch", 4]),
                helper.make_tensor_value_info("b", TensorProto.FLOAT, ["batch", 4])],
        outputs=[helper.make_tensor_value_info("sum", TensorProto.FLOAT, ["batch", 4]),
                 helper.make_tensor_value_info("dot", TensorProto.FLOAT, ["batch", 1]),
                 helper.make_tensor_value_info("argmax", TensorProto.INT64, ["batch"])],
        initializer=[const_i64("axes", [1])],
    )
    model = make_model(graph, "Two inputs, three outputs: a+b, row-wise dot(a, b), argmax(a). "
                              "Tests binding of several named inputs and outputs.", model_version=1)
    save_model(model, "multi_io.onnx")

    rng = np.random.default_rng(11)
    a = rng.standard_normal((5, 4)).astype(np.float32)
    b = rng.standard_normal((5, 4)).astype(np.float32)
    # ArgMax returns the first maximum on ties; keep the reference unambiguous.
    for row in a:
        assert np.count_nonzero(row == row.max()) == 1
    outputs = {
        "sum": a + b,  # a single float32 add is correctly rounded: exact match expected
        "dot": (a.astype(np.float64) * b.astype(np.float64)).sum(axis=1, keepdims=True).astype(np.float32),
        "argmax": np.argmax(a, axis=1).astype(np.int64),
    }
    write_reference("multi_io.reference.json", "multi_io.onnx", 1e-5,
                    [{"inputs": {"a": a, "b": b}, "outputs": outputs}])


# ---------------------------------------------------------------------------
# 3. all_types.onnx: one pass-through per element type
# ---------------------------------------------------------------------------


def all_types_values():
    """4x3 inputs per type, including each type's extremes."""
    values = {}
    f32, f64, f16 = np.finfo(np.float32), np.finfo(np.float64), np.finfo(np.float16)
    values["float"] = [[f32.max, f32.min, f32.tiny], [0.5, -1.25, 3.1415927],
                       [0.0, 1e-3, -123456.789], [1.0, -1.0, 2.0 ** 24]]
    values["double"] = [[f64.max, f64.min, f64.tiny], [0.5, -1.25, np.pi],
                        [0.0, 0.1, -123456.789], [1.0, -1.0, 2.0 ** 53]]
    # Every float16 value below is exactly representable (dyadic, in range).
    values["float16"] = [[f16.max, f16.min, f16.tiny], [0.5, -1.25, 3.140625],
                         [0.0, 0.0999755859375, -1000.5], [1.0, -1.0, 2048.0]]
    for name, _, dtype, _ in ELEMENT_TYPES:
        if np.dtype(dtype).kind == "i":
            info = np.iinfo(dtype)
            values[name] = [[info.min, info.max, 0], [-1, 1, info.min + 1],
                            [info.max - 1, -2, 2], [100, -100, 42]]
        elif np.dtype(dtype).kind == "u":
            info = np.iinfo(dtype)
            values[name] = [[0, info.max, 1], [info.max - 1, info.max // 2, 2],
                            [info.max // 2 + 1, 100, 200], [42, 7, 3]]
    values["bool"] = [[True, False, False], [False, True, True],
                      [True, True, False], [False, False, True]]

    arrays = {}
    for name, _, dtype, _ in ELEMENT_TYPES:
        # Build from exact Python/numpy scalars so nothing passes through a
        # lossy conversion (np.array of mixed big ints would go via float64).
        arr = np.array(values[name], dtype=dtype)
        if np.dtype(dtype).kind in "iu":
            assert [[int(v) for v in row] for row in arr] == [[int(v) for v in row] for row in values[name]]
        if dtype == np.float16:
            assert np.array_equal(arr.astype(np.float64), np.array(values[name], dtype=np.float64))
        arrays[name] = arr
    return arrays


def build_all_types():
    # Slice with step -1 reverses axis 1. It only moves data, so the output is
    # bit-exact, and ONNX Runtime's CPU Slice kernel is registered for every
    # tensor type (Identity would do too, but a real reordering also catches
    # row/column mix-ups in the tensor marshalling).
    initializers = [const_i64("starts", [-1]), const_i64("ends", [INT64_MIN]),
                    const_i64("axes", [1]), const_i64("steps", [-1])]
    nodes, inputs, outputs = [], [], []
    for name, onnx_type, _, _ in ELEMENT_TYPES:
        inputs.append(helper.make_tensor_value_info(f"x_{name}", onnx_type, ["batch", 3]))
        outputs.append(helper.make_tensor_value_info(f"y_{name}", onnx_type, ["batch", 3]))
        nodes.append(helper.make_node("Slice", [f"x_{name}", "starts", "ends", "axes", "steps"],
                                      [f"y_{name}"], name=f"Reverse_{name}"))
    graph = helper.make_graph(nodes, "all_types", inputs, outputs, initializer=initializers)
    model = make_model(graph, "For each element type t: y_t = x_t reversed along axis 1. "
                              "Tests tensor marshalling of every supported element type.",
                       model_version=1)
    save_model(model, "all_types.onnx")

    arrays = all_types_values()
    inputs_ref = {f"x_{n}": arrays[n] for n, _, _, _ in ELEMENT_TYPES}
    outputs_ref = {f"y_{n}": arrays[n][:, ::-1] for n, _, _, _ in ELEMENT_TYPES}
    write_reference("all_types.reference.json", "all_types.onnx", 0.0,
                    [{"inputs": inputs_ref, "outputs": outputs_ref}])


def build_typed():
    # all_types.onnx less float16: the types the Open Inference Protocol's gRPC messages carry in a typed field
    # (float16 goes only as raw bytes), so one request can send every input through those fields.
    types = [t for t in ELEMENT_TYPES if t[0] != "float16"]
    initializers = [const_i64("starts", [-1]), const_i64("ends", [INT64_MIN]),
                    const_i64("axes", [1]), const_i64("steps", [-1])]
    nodes, inputs, outputs = [], [], []
    for name, onnx_type, _, _ in types:
        inputs.append(helper.make_tensor_value_info(f"x_{name}", onnx_type, ["batch", 3]))
        outputs.append(helper.make_tensor_value_info(f"y_{name}", onnx_type, ["batch", 3]))
        nodes.append(helper.make_node("Slice", [f"x_{name}", "starts", "ends", "axes", "steps"],
                                      [f"y_{name}"], name=f"Reverse_{name}"))
    graph = helper.make_graph(nodes, "typed", inputs, outputs, initializer=initializers)
    model = make_model(graph, "all_types.onnx without float16: y_t = x_t reversed along axis 1 for each type t "
                              "that the gRPC protocol carries in a typed field.",
                       model_version=1)
    save_model(model, "typed.onnx")

    arrays = all_types_values()
    inputs_ref = {f"x_{n}": arrays[n] for n, _, _, _ in types}
    outputs_ref = {f"y_{n}": arrays[n][:, ::-1] for n, _, _, _ in types}
    write_reference("typed.reference.json", "typed.onnx", 0.0,
                    [{"inputs": inputs_ref, "outputs": outputs_ref}])


# ---------------------------------------------------------------------------
# 4. dynamic.onnx: two symbolic dimensions
# ---------------------------------------------------------------------------


def build_dynamic():
    nodes = [
        helper.make_node("ReduceSum", ["x", "axes"], ["total"], name="ReduceSum", keepdims=0),
        helper.make_node("Mul", ["x", "two"], ["scaled"], name="Scale"),
    ]
    graph = helper.make_graph(
        nodes, "dynamic",
        inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq"])],
        outputs=[helper.make_tensor_value_info("total", TensorProto.FLOAT, ["batch"]),
                 helper.make_tensor_value_info("scaled", TensorProto.FLOAT, ["batch", "seq"])],
        initializer=[const_i64("axes", [1]),
                     numpy_helper.from_array(np.array(2.0, dtype=np.float32), "two")],
    )
    model = make_model(graph, "Symbolic dims batch and seq: total = row sums of x, scaled = 2x. "
                              "Tests inputs whose shape varies between calls.", model_version=1)
    save_model(model, "dynamic.onnx")

    rng = np.random.default_rng(13)
    cases = []
    for shape in [(2, 5), (3, 7)]:
        x = rng.standard_normal(shape).astype(np.float32)
        cases.append({"inputs": {"x": x},
                      "outputs": {"total": x.astype(np.float64).sum(axis=1).astype(np.float32),
                                  "scaled": x * np.float32(2.0)}})
    write_reference("dynamic.reference.json", "dynamic.onnx", 1e-5, cases)


# ---------------------------------------------------------------------------
# 5. fixed.onnx: no dynamic dimensions at all
# ---------------------------------------------------------------------------


def build_fixed():
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "one"], ["y"], name="AddOne")],
        "fixed",
        inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        initializer=[numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one")],
    )
    model = make_model(graph, "Fully static shape [2, 3]: y = x + 1. Tests rejection of "
                              "inputs with the wrong shape.", model_version=1)
    save_model(model, "fixed.onnx")

    x = np.array([[0.0, 1.5, -2.25], [100.0, -0.125, 3.75]], dtype=np.float32)
    write_reference("fixed.reference.json", "fixed.onnx", 0.0,
                    [{"inputs": {"x": x}, "outputs": {"y": x + np.float32(1.0)}}])


def build_strings():
    # String tensors: UTF-8 text in and out. Slice moves elements without looking inside them, so the
    # output checks the binding's encoding and element order, not an operator's text handling.
    graph = helper.make_graph(
        [helper.make_node("Slice", ["text", "starts", "ends", "axes", "steps"], ["reversed"], name="Reverse")],
        "strings",
        inputs=[helper.make_tensor_value_info("text", TensorProto.STRING, ["batch", 3])],
        outputs=[helper.make_tensor_value_info("reversed", TensorProto.STRING, ["batch", 3])],
        initializer=[const_i64("starts", [-1]), const_i64("ends", [np.iinfo(np.int64).min]),
                     const_i64("axes", [1]), const_i64("steps", [-1])],
    )
    model = make_model(graph, "reversed = each row of text in reverse order: string tensors in and out.", model_version=1)
    save_model(model, "strings.onnx")

    text = np.array([["fraud", "", "naïve café"], ["日本語", "emoji 🙂", "a" * 300]], dtype=object)
    write_reference("strings.reference.json", "strings.onnx", 0.0,
                    [{"inputs": {"text": text}, "outputs": {"reversed": text[:, ::-1]}}])


def build_images():
    # A per-row tensor of rank 3: each row is a tiny 3x4x4 uint8 image.
    graph = helper.make_graph(
        [
            helper.make_node("Cast", ["image"], ["pixels"], name="ToFloat", to=TensorProto.FLOAT),
            helper.make_node("Div", ["pixels", "full_scale"], ["normalized"], name="Normalize"),
            helper.make_node("ReduceMean", ["normalized"], ["channel_mean"], name="ChannelMean", axes=[2, 3], keepdims=0),
        ],
        "images",
        inputs=[helper.make_tensor_value_info("image", TensorProto.UINT8, ["batch", 3, 4, 4])],
        outputs=[
            helper.make_tensor_value_info("normalized", TensorProto.FLOAT, ["batch", 3, 4, 4]),
            helper.make_tensor_value_info("channel_mean", TensorProto.FLOAT, ["batch", 3]),
        ],
        initializer=[numpy_helper.from_array(np.array(255.0, dtype=np.float32), "full_scale")],
    )
    model = make_model(graph, "normalized = image / 255 and its per-channel mean: per-row tensors of rank 3.", model_version=1)
    save_model(model, "images.onnx")

    image = np.random.default_rng(17).integers(0, 256, size=(3, 3, 4, 4), dtype=np.uint8)
    normalized = (image.astype(np.float64) / 255.0)
    write_reference("images.reference.json", "images.onnx", 1e-6, [{
        "inputs": {"image": image},
        "outputs": {"normalized": normalized.astype(np.float32),
                    "channel_mean": normalized.mean(axis=(2, 3)).astype(np.float32)},
    }])


def slow_step(width, name):
    """The Loop body of the slow models: h = tanh(h @ w), and keep going."""
    return helper.make_graph(
        [
            helper.make_node("MatMul", ["h_in", "w"], ["mixed"], name="Mix"),
            helper.make_node("Tanh", ["mixed"], ["h_out"], name="Squash"),
            helper.make_node("Identity", ["cond_in"], ["cond_out"], name="KeepGoing"),
        ],
        name,
        inputs=[
            helper.make_tensor_value_info("iteration", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("h_in", TensorProto.FLOAT, ["batch", width]),
        ],
        outputs=[
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("h_out", TensorProto.FLOAT, ["batch", width]),
        ],
    )


def build_slow():
    # Run time grows with the trip count given at run time, so a test can start a run that takes
    # seconds and cancel it while ONNX Runtime is inside it. The 512x512 weight is made by
    # ConstantOfShape when the model runs, so the file stays a few hundred bytes.
    width = 512
    body = slow_step(width, "slow_body")
    graph = helper.make_graph(
        [
            helper.make_node("ConstantOfShape", ["w_shape"], ["w"], name="Weight",
                             value=numpy_helper.from_array(np.array([1.0 / width], dtype=np.float32))),
            helper.make_node("Loop", ["iterations", "keep_going", "x"], ["y"], name="Repeat", body=body),
        ],
        "slow",
        inputs=[
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", width]),
            helper.make_tensor_value_info("iterations", TensorProto.INT64, []),
        ],
        outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", width])],
        initializer=[
            const_i64("w_shape", [width, width]),
            numpy_helper.from_array(np.array(True), "keep_going"),
        ],
    )
    model = make_model(graph, "Repeats y = tanh(y @ W), W = 1/512 everywhere, `iterations` times: "
                              "a run whose length the caller picks, for cancellation tests.", model_version=1)
    save_model(model, "slow.onnx")

    # Every element of y @ W is the row mean of y, so after one step each row is constant
    # c = tanh(mean(x)) and each later step maps c to tanh(c).
    x = np.linspace(-1.0, 1.0, 2 * width, dtype=np.float32).reshape(2, width)
    x[1] *= 3.0
    iterations = 3
    y = x.astype(np.float64)
    for _ in range(iterations):
        y = np.tanh(y @ np.full((width, width), 1.0 / width))
    write_reference("slow.reference.json", "slow.onnx", 1e-5, [{
        "inputs": {"x": x, "iterations": np.array(iterations, dtype=np.int64)},
        "outputs": {"y": y.astype(np.float32)},
    }])


def build_slow_rows():
    # slow.onnx with the trip count given per row, as a typed contract can fill it: the batch runs
    # max(iterations) steps. For queued requests that hold a lane worker as long as a test needs.
    width = 512
    body = slow_step(width, "slow_rows_body")
    graph = helper.make_graph(
        [
            helper.make_node("ConstantOfShape", ["w_shape"], ["w"], name="Weight",
                             value=numpy_helper.from_array(np.array([1.0 / width], dtype=np.float32))),
            helper.make_node("ReduceMax", ["iterations"], ["trips"], name="Longest", axes=[0], keepdims=0),
            helper.make_node("Loop", ["trips", "keep_going", "x"], ["y"], name="Repeat", body=body),
        ],
        "slow_rows",
        inputs=[
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", width]),
            helper.make_tensor_value_info("iterations", TensorProto.INT64, ["batch"]),
        ],
        outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", width])],
        initializer=[
            const_i64("w_shape", [width, width]),
            numpy_helper.from_array(np.array(True), "keep_going"),
        ],
    )
    model = make_model(graph, "slow.onnx with a per-row trip count: the batch repeats y = tanh(y @ W) "
                              "max(iterations) times. For batcher cancellation tests.", model_version=1)
    save_model(model, "slow_rows.onnx")

    x = np.stack([np.full(width, 0.25, dtype=np.float32), np.linspace(-1.0, 2.0, width, dtype=np.float32)])
    iterations = np.array([1, 4], dtype=np.int64)
    y = x.astype(np.float64)
    for _ in range(int(iterations.max())):
        y = np.tanh(y @ np.full((width, width), 1.0 / width))
    write_reference("slow_rows.reference.json", "slow_rows.onnx", 1e-5, [{
        "inputs": {"x": x, "iterations": iterations},
        "outputs": {"y": y.astype(np.float32)},
    }])
def build_wide():
    # Large enough that pre-packing its Gemm weights costs megabytes per session, so tests can
    # see whether a second session of the same file shares them. Weights only: about 4.5 MB, under
    # the 5 MB the repository allows a committed file.
    layers = mlp_weights(np.random.default_rng(20240611), [256, 960, 960, 1])

    graph = mlp_graph(layers, "wide_mlp", 256, "score")
    model = make_model(graph, "MLP 256 -> 960 -> 960 -> 1 (ReLU, sigmoid head) with seeded weights: "
                              "megabytes of Gemm weights, for tests of weight sharing between sessions.",
                       model_version=1)
    save_model(model, "wide.onnx")

    x = np.random.default_rng(23).standard_normal((4, 256)).astype(np.float32)
    score = mlp_forward(x, layers)
    # Sums of 960 float32 products: ONNX Runtime's summation order differs from numpy's by
    # more than in the small models, still far below the tolerance.
    write_reference("wide.reference.json", "wide.onnx", 1e-5, [{"inputs": {"features": x}, "outputs": {"score": score}}])


def main():
    build_fraud()
    build_fraud_retrained()
    build_multi_io()
    build_all_types()
    build_typed()
    build_dynamic()
    build_fixed()
    build_slow()
    build_slow_rows()
    build_strings()
    build_images()
    build_wide()
    for name in sorted(os.listdir(HERE)):
        if name.endswith((".onnx", ".json")):
            print(f"{os.path.getsize(os.path.join(HERE, name)):8d}  {name}")


if __name__ == "__main__":
    main()
