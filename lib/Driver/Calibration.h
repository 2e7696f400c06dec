//===- Calibration.h - activation ranges for static quantization -*- C++ -*-===//
//
// `ternc --quantize=int8 --calibration-data DIR`: before quantizing, the
// float model runs on the calibration samples and records the range of
// every activation that a quantized MatMul, Gemm or Conv will read.
//
//===----------------------------------------------------------------------===//

#ifndef TERN_DRIVER_CALIBRATION_H
#define TERN_DRIVER_CALIBRATION_H

#include "passes/Passes.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include <string>

namespace tern {

struct CalibrationOptions {
  /// One NAME.npy per model input (the first axis indexes the samples), or
  /// ONNX test-data folders (test_data_set_*/input_N.pb), or one such folder.
  std::string dataDir;
  /// "minmax" (the ranges seen), or "percentile" (each range clipped to
  /// the central `percentile`% of the values seen; one-sided when the
  /// values are never negative).
  std::string method = "minmax";
  double percentile = 99.99;
  /// At most this many samples (0: all).
  int64_t maxSamples = 0;
  bool verbose = false;
};

/// Runs graph-prepared `module` (buildGraphPreparation) in float on the
/// calibration samples and sets kActivationRangeAttr on every MatMul, Gemm
/// and Conv whose weights are constant, to the range of its activation
/// input. The float build is `module` cloned, those activations returned as
/// extra results, optimized by `optimization`'s passes and compiled by
/// `compileLibrary` (a module to a shared library at a path), then run
/// through tern's runtime. Errors are reported on stderr.
mlir::LogicalResult calibrateActivations(mlir::ModuleOp module, const CalibrationOptions &options,
                                         const GraphPipelineOptions &optimization,
                                         llvm::function_ref<mlir::LogicalResult(mlir::ModuleOp, llvm::StringRef)>
                                             compileLibrary);

} // namespace tern

#endif
