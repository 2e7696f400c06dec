//===- Calibration.cpp - activation ranges for static quantization --------===//

#include "lib/Driver/Calibration.h"

#include "dialects/Tern/TernOps.h"
#include "tern/tern.h"
#include "tools/tern-run/TensorFiles.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>

using namespace mlir;
using tern::tools::HostTensor;

namespace tern {

namespace {

constexpr llvm::StringLiteral kPointAttr = "tern.calibration_point";
constexpr llvm::StringLiteral kPointPrefix = "tern.calibration.";

/// The activation a quantized op would read, if its weights are constant.
Value activationOf(Operation *op) {
  auto isConstant = [](Value v) { return v.getDefiningOp<ConstantOp>() != nullptr; };
  if (auto mm = dyn_cast<MatMulOp>(op))
    return isConstant(mm.getB()) ? mm.getA() : Value();
  if (auto gemm = dyn_cast<GemmOp>(op))
    return isConstant(gemm.getB()) && !gemm.getTransA() ? gemm.getA() : Value();
  if (auto conv = dyn_cast<ConvOp>(op))
    return isConstant(conv.getW()) ? conv.getX() : Value();
  return {};
}

/// The samples of each input, in the model's input order.
struct Samples {
  std::vector<std::vector<HostTensor>> perSample;
};

bool error(const std::string &message) {
  llvm::errs() << "ternc: error: calibration: " << message << "\n";
  return false;
}

std::string shapeString(const std::vector<int64_t> &dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? "x" : "") + std::to_string(dims[i]);
  return "[" + s + "]";
}

/// `file` cut along its first axis into samples for an input of rank
/// `rank`: file [N, ...] of rank + 1 gives [...] each, of rank gives
/// [1, ...] each.
bool splitSamples(const HostTensor &file, const tern_tensor_info &info, std::vector<HostTensor> &out) {
  size_t rank = info.rank;
  if (file.dims.empty() || (file.dims.size() != rank + 1 && file.dims.size() != rank))
    return error(std::string("input '") + info.name + "': a file of shape " + shapeString(file.dims) +
                 " does not hold samples of rank " + std::to_string(rank) + " along its first axis");
  if (file.dtype != info.dtype)
    return error(std::string("input '") + info.name + "': the file holds " + tern_dtype_name(file.dtype) +
                 ", the model takes " + tern_dtype_name(info.dtype));
  int64_t n = file.dims[0];
  size_t per = file.count() / std::max<int64_t>(n, 1) * tern_dtype_size(file.dtype);
  for (int64_t i = 0; i < n; ++i) {
    HostTensor t;
    t.dtype = file.dtype;
    t.dims.assign(file.dims.begin() + (file.dims.size() == rank + 1 ? 1 : 0), file.dims.end());
    if (file.dims.size() == rank)
      t.dims[0] = 1;
    t.data.assign(file.data.begin() + i * per, file.data.begin() + (i + 1) * per);
    out.push_back(std::move(t));
  }
  return true;
}

/// Reads the calibration samples for the inputs `infos` from `dir`.
bool readSamples(const std::string &dir, const std::vector<tern_tensor_info> &infos, Samples &samples) {
  std::string message;
  // One NAME.npy per input.
  bool npy = !infos.empty();
  for (const tern_tensor_info &info : infos)
    npy = npy && llvm::sys::fs::exists(dir + "/" + info.name + ".npy");
  if (npy) {
    std::vector<std::vector<HostTensor>> perInput(infos.size());
    for (size_t i = 0; i < infos.size(); ++i) {
      HostTensor file;
      if (!tern::tools::readNpy(dir + "/" + infos[i].name + ".npy", file, message))
        return error(message);
      if (!splitSamples(file, infos[i], perInput[i]))
        return false;
      if (perInput[i].size() != perInput[0].size())
        return error(std::string("input '") + infos[i].name + "' has " + std::to_string(perInput[i].size()) +
                     " samples, '" + infos[0].name + "' " + std::to_string(perInput[0].size()));
    }
    for (size_t s = 0; s < perInput[0].size(); ++s) {
      samples.perSample.emplace_back();
      for (auto &in : perInput)
        samples.perSample.back().push_back(std::move(in[s]));
    }
    return true;
  }
  // ONNX test-data folders: DIR/*/input_N.pb, or DIR/input_N.pb.
  std::vector<std::string> folders;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec; it.increment(ec))
    if (llvm::sys::fs::is_directory(it->path()) &&
        llvm::sys::fs::exists(it->path() + "/input_0.pb"))
      folders.push_back(it->path());
  std::sort(folders.begin(), folders.end());
  if (folders.empty() && llvm::sys::fs::exists(dir + "/input_0.pb"))
    folders.push_back(dir);
  if (folders.empty()) {
    std::string names;
    for (const tern_tensor_info &info : infos)
      names += (names.empty() ? "" : ", ") + std::string(info.name) + ".npy";
    return error(dir + " holds neither " + names + " nor ONNX test-data folders (input_N.pb)");
  }
  for (const std::string &folder : folders) {
    samples.perSample.emplace_back();
    for (size_t i = 0; i < infos.size(); ++i) {
      HostTensor t;
      std::string path = folder + "/input_" + std::to_string(i) + ".pb";
      if (!tern::tools::readTensorProto(path, t, message))
        return error(message);
      samples.perSample.back().push_back(std::move(t));
    }
  }
  return true;
}

/// The values of one activation over all samples.
struct Range {
  double lo = INFINITY, hi = -INFINITY;
  std::vector<uint64_t> histogram; ///< percentile: bins over [lo, hi]
  uint64_t count = 0;
};

constexpr int kBins = 4096;

} // namespace

LogicalResult calibrateActivations(ModuleOp module, const CalibrationOptions &options,
                                   const GraphPipelineOptions &optimization,
                                   llvm::function_ref<LogicalResult(ModuleOp, StringRef)> compileLibrary) {
  auto start = std::chrono::steady_clock::now();
  auto main = module.lookupSymbol<func::FuncOp>("main");
  if (!main)
    return error("the module has no main function"), failure();
  if (options.method != "minmax" && options.method != "percentile")
    return error("--calibration must be minmax or percentile, got '" + options.method + "'"), failure();
  if (options.method == "percentile" && !(options.percentile > 50 && options.percentile <= 100))
    return error("--calibration-percentile must be in (50, 100]"), failure();
  // The points: ops with constant weights, numbered in walk order.
  SmallVector<Operation *> points;
  main.walk([&](Operation *op) {
    if (Value a = activationOf(op); a && isa<FloatType>(cast<ShapedType>(a.getType()).getElementType())) {
      op->setAttr(kPointAttr, IntegerAttr::get(IntegerType::get(module.getContext(), 64), points.size()));
      points.push_back(op);
    }
  });
  if (points.empty())
    return success();

  // The float build, returning each point's activation.
  OwningOpRef<ModuleOp> probe = module.clone();
  auto probeMain = probe->lookupSymbol<func::FuncOp>("main");
  auto ret = cast<func::ReturnOp>(probeMain.getBody().front().getTerminator());
  SmallVector<Value> results(ret.getOperands());
  unsigned firstProbe = results.size();
  probeMain.walk([&](Operation *op) {
    if (auto point = op->getAttrOfType<IntegerAttr>(kPointAttr)) {
      results.push_back(activationOf(op));
      op->removeAttr(kPointAttr);
    }
  });
  ret->setOperands(results);
  probeMain.setType(FunctionType::get(module.getContext(), probeMain.getArgumentTypes(), ValueRange(results).getTypes()));
  for (unsigned i = firstProbe; i < results.size(); ++i)
    probeMain.setResultAttr(i, "tern.name",
                            StringAttr::get(module.getContext(), kPointPrefix + std::to_string(i - firstProbe)));
  {
    GraphPipelineOptions floatOptions = optimization;
    floatOptions.weightBits = 0;
    floatOptions.calibrated = false;
    PassManager pm(module.getContext());
    buildGraphOptimization(pm, floatOptions);
    if (failed(pm.run(*probe)))
      return failure();
  }
  SmallString<128> dir;
  if (std::error_code ec = llvm::sys::fs::createUniqueDirectory("ternc-calibration", dir))
    return error("cannot create a temporary directory: " + ec.message()), failure();
  auto cleanup = [&]() { llvm::sys::fs::remove_directories(dir); };
  std::string library = (dir + "/probe.so").str();
  if (failed(compileLibrary(*probe, library)))
    return cleanup(), failure();

  tern_options runOptions{};
  tern_model *model = nullptr;
  if (tern_model_open(library.c_str(), &runOptions, &model) != TERN_OK) {
    error(tern_last_error());
    return cleanup(), failure();
  }
  auto close = [&]() {
    tern_model_close(model);
    cleanup();
  };
  size_t numIn = tern_model_num_inputs(model), numOut = tern_model_num_outputs(model);
  std::vector<tern_tensor_info> inInfo(numIn);
  for (size_t i = 0; i < numIn; ++i)
    tern_model_input_info(model, i, &inInfo[i]);
  std::map<size_t, size_t> outputToPoint;
  for (size_t i = 0; i < numOut; ++i) {
    tern_tensor_info info;
    tern_model_output_info(model, i, &info);
    StringRef name(info.name);
    if (name.starts_with(kPointPrefix))
      outputToPoint[i] = std::stoul(name.drop_front(kPointPrefix.size()).str());
  }
  Samples samples;
  if (!readSamples(options.dataDir, inInfo, samples))
    return close(), failure();
  size_t count = samples.perSample.size();
  if (options.maxSamples > 0)
    count = std::min<size_t>(count, options.maxSamples);
  if (count == 0)
    return error(options.dataDir + " holds no samples"), close(), failure();

  std::vector<Range> ranges(points.size());
  bool percentile = options.method == "percentile";
  // Pass 0: min and max; pass 1 (percentile): histograms over them.
  for (int pass = 0; pass < (percentile ? 2 : 1); ++pass) {
    if (pass == 1)
      for (Range &r : ranges)
        r.histogram.assign(kBins, 0);
    for (size_t s = 0; s < count; ++s) {
      std::vector<tern_tensor> in, out(numOut);
      for (HostTensor &t : samples.perSample[s])
        in.push_back(t.view());
      if (tern_model_run(model, in.data(), in.size(), out.data(), numOut) != TERN_OK) {
        error("sample " + std::to_string(s) + ": " + tern_last_error());
        return close(), failure();
      }
      for (auto [o, p] : outputToPoint) {
        const tern_tensor &t = out[o];
        if (t.dtype != TERN_FLOAT)
          continue;
        size_t n = 1;
        for (int32_t d = 0; d < t.rank; ++d)
          n *= t.dims[d];
        const float *v = static_cast<const float *>(t.data);
        Range &r = ranges[p];
        if (pass == 0) {
          for (size_t e = 0; e < n; ++e)
            if (std::isfinite(v[e])) {
              r.lo = std::min<double>(r.lo, v[e]);
              r.hi = std::max<double>(r.hi, v[e]);
            }
        } else if (r.hi > r.lo) {
          double scale = kBins / (r.hi - r.lo);
          for (size_t e = 0; e < n; ++e)
            if (std::isfinite(v[e]))
              ++r.histogram[std::clamp<int64_t>((int64_t)((v[e] - r.lo) * scale), 0, kBins - 1)];
        }
        r.count += pass == 1 ? n : 0;
      }
      for (tern_tensor &t : out)
        tern_tensor_release(&t);
    }
  }
  // Percentile: the central p% (or the lowest p% when nothing is negative).
  if (percentile)
    for (Range &r : ranges) {
      if (!(r.hi > r.lo) || r.count == 0)
        continue;
      bool twoSided = r.lo < 0;
      double tail = (1 - options.percentile / 100) / (twoSided ? 2 : 1);
      uint64_t cut = (uint64_t)(tail * r.count);
      double width = (r.hi - r.lo) / kBins;
      double lo = r.lo, hi = r.hi;
      uint64_t seen = 0;
      if (twoSided)
        for (int b = 0; b < kBins; ++b) {
          seen += r.histogram[b];
          if (seen > cut) {
            lo = r.lo + b * width;
            break;
          }
        }
      seen = 0;
      for (int b = kBins - 1; b >= 0; --b) {
        seen += r.histogram[b];
        if (seen > cut) {
          hi = r.lo + (b + 1) * width;
          break;
        }
      }
      r.lo = lo;
      r.hi = hi;
    }
  tern_model_close(model);
  cleanup();

  int64_t set = 0;
  for (auto [i, op] : llvm::enumerate(points)) {
    op->removeAttr(kPointAttr);
    if (ranges[i].lo <= ranges[i].hi) {
      op->setAttr(kActivationRangeAttr, DenseF32ArrayAttr::get(module.getContext(),
                                                               {(float)ranges[i].lo, (float)ranges[i].hi}));
      ++set;
    }
  }
  if (options.verbose)
    llvm::errs() << llvm::formatv("ternc: calibrated {0} activations ({1}) on {2} samples in {3:f2} s\n", set,
                                  options.method, count,
                                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return success();
}

} // namespace tern
