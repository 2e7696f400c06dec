# lit configuration for tern's tests.
import os
import lit.formats

config.name = "tern"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir", ".onnxtext", ".test"]
config.excludes = ["Inputs", "lit.cfg.py", "lit.site.cfg.py", "run.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.tern_obj_root, "test")

config.environment["PATH"] = os.pathsep.join(
    [os.path.join(config.tern_obj_root, "bin"), config.llvm_tools_dir,
     config.environment.get("PATH", os.environ.get("PATH", ""))])

# The shared models sit beside the checkout; graph-only ones are materialized
# into the build folder by scripts/materialize-models.sh.
shared = os.path.normpath(os.path.join(config.tern_src_root, "..", "shared", "models"))
materialized = os.path.join(config.tern_obj_root, "models")
config.substitutions.append(("%shared_models", shared))
config.substitutions.append(("%models", materialized))
config.substitutions.append(("%repo", config.tern_src_root))
config.substitutions.append(("%python", "/usr/bin/python3"))
if os.path.isdir(shared):
    config.available_features.add("shared-models")
if os.path.isfile(os.path.join(materialized, "gpt2-124m.onnx")):
    config.available_features.add("materialized-models")
if config.tern_fuzzer:
    config.available_features.add("fuzzer")
config.substitutions.append(("%build", config.tern_obj_root))
if os.path.isdir("/usr/share/libonnx-testdata/data/node"):
    config.available_features.add("onnx-testdata")
if os.path.isdir(os.path.join(config.tern_src_root, "bench", "node_modules", "onnxruntime-node")):
    config.available_features.add("ort")
if os.path.isfile(os.path.join(config.tern_obj_root, "aarch64", "bin", "tern-run")) and \
        os.path.isfile("/usr/bin/qemu-aarch64") and os.path.isdir("/usr/aarch64-linux-gnu"):
    config.available_features.add("aarch64-qemu")
# ONNX Runtime's u8 x s8 kernels on x86 without VNNI (vpmaddubsw) sum pairs
# of products in i16 with saturation: its int8 outputs are then not a
# reference (gpt2-124m.int8-dynamic's logits at cosine 0.91 to the exact
# sums on an AVX2-only Zen 3; tern's match numpy's exactly there).
def _ort_exact_int8():
    import platform
    if platform.machine() not in ("x86_64", "AMD64"):
        return True
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((l.split(":", 1)[1].split() for l in f if l.startswith("flags")), [])
    except OSError:
        return False
    return "avx512_vnni" in flags or "avx_vnni" in flags
if _ort_exact_int8():
    config.available_features.add("ort-exact-int8")
config.substitutions.append(("%qemu_aarch64", "qemu-aarch64 -L /usr/aarch64-linux-gnu"))
# The GPU target's cubins need ptxas; its host side runs on a stand-in driver.
if os.access("/usr/local/cuda/bin/ptxas", os.X_OK):
    config.available_features.add("cuda-toolkit")
config.substitutions.append(("%fake_cuda", os.path.join(config.tern_obj_root, "lib", "libtern-fake-cuda.so")))
