"""Writes malformed ONNX models into the folder given, for the error tests."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

out = sys.argv[1]
os.makedirs(os.path.join(out, "model"), exist_ok=True)


def model_with_external(location, length=64 * 4):
    w = TensorProto()
    w.name = "w"
    w.data_type = TensorProto.FLOAT
    w.dims.extend([64])
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", str(length))):
        e = w.external_data.add()
        e.key, e.value = k, v
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [64])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [64])
    g = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"], name="add0")], "g", [x], [y], [w])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def save(m, name):
    with open(os.path.join(out, "model", name), "wb") as f:
        f.write(m.SerializeToString())


# A secret outside the model's folder, and data inside it.
with open(os.path.join(out, "secret.bin"), "wb") as f:
    f.write(np.ones(64, np.float32).tobytes())
with open(os.path.join(out, "model", "weights.bin"), "wb") as f:
    f.write(np.ones(64, np.float32).tobytes())
with open(os.path.join(out, "model", "short.bin"), "wb") as f:
    f.write(np.ones(10, np.float32).tobytes())
os.symlink(os.path.join(out, "secret.bin"), os.path.join(out, "model", "link.bin"))

save(model_with_external("weights.bin"), "good.onnx")
save(model_with_external("../secret.bin"), "traversal.onnx")
save(model_with_external(os.path.join(out, "secret.bin")), "absolute.onnx")
save(model_with_external("link.bin"), "symlink.onnx")
save(model_with_external("short.bin"), "short.onnx")
save(model_with_external("missing.bin"), "missing.onnx")

# An op tern does not know, with a node name.
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])
g = helper.make_graph([helper.make_node("Relu", ["x"], ["r"], name="relu0"),
                       helper.make_node("FancyOp", ["r"], ["y"], name="fancy")], "g", [x], [y])
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), "unsupported.onnx")

# A model whose opset is out of range.
g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 5)]), "old-opset.onnx")

# Shapes that contradict each other.
a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [3])
b = helper.make_tensor_value_info("b", TensorProto.FLOAT, [4])
g = helper.make_graph([helper.make_node("Add", ["a", "b"], ["y"], name="bad_add")], "g", [a, b], [y])
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), "bad-shapes.onnx")

# MatMulInteger on int16 activations (tern's own matmul_integer takes them;
# ONNX's takes bytes only).
a16 = helper.make_tensor_value_info("a", TensorProto.INT16, [2, 4])
b8 = helper.make_tensor_value_info("b", TensorProto.INT8, [4, 3])
y32 = helper.make_tensor_value_info("y", TensorProto.INT32, [2, 3])
g = helper.make_graph([helper.make_node("MatMulInteger", ["a", "b"], ["y"], name="mmi")], "g", [a16, b8], [y32])
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), "int16-matmul-integer.onnx")

# A truncated model file.
good = model_with_external("weights.bin").SerializeToString()
with open(os.path.join(out, "model", "truncated.onnx"), "wb") as f:
    f.write(good[: len(good) // 2])
