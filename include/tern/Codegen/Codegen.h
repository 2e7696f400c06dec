//===- Codegen.h - from the lowered module to machine code and libraries -===//
//
// After the lowering pipeline (passes/Passes.h) has brought a model to the
// LLVM dialect, these functions translate it to LLVM IR with the runtime's
// ABI descriptor (runtime/include/tern/tern_abi.h), optimize it with LLVM's
// pipeline for the target machine, emit assembly or an object file in this
// process, and link shared libraries with lld, also in-process.
//
//===----------------------------------------------------------------------===//

#ifndef TERN_CODEGEN_CODEGEN_H
#define TERN_CODEGEN_CODEGEN_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "llvm/ADT/StringRef.h"
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace llvm {
class LLVMContext;
class Module;
class TargetMachine;
class raw_pwrite_stream;
} // namespace llvm

namespace tern {

/// The model's inputs and outputs as the runtime sees them; read from the
/// imported `@main` before lowering (names, ONNX element types, dims).
struct ModelInterface {
  struct Tensor {
    std::string name;
    int64_t onnxType = 0;
    std::vector<int64_t> dims; // -1 when dynamic
    std::vector<std::string> dimNames;
  };
  std::vector<Tensor> inputs, outputs;
};
mlir::FailureOr<ModelInterface> describeModel(mlir::ModuleOp module);

struct TargetSpec {
  std::string arch;     // "x86_64" or "aarch64"; empty: the host's
  std::string cpu;      // empty: the host's CPU (on the host arch), else a generic one
  std::string features; // extra "+avx512f,..." (host features when cpu is the host's)
  int optLevel = 3;
};

/// The machine to compile for; fails with a message for unknown ones.
mlir::FailureOr<std::unique_ptr<llvm::TargetMachine>> createTargetMachine(const TargetSpec &spec,
                                                                          std::string &error);

/// Dialects and interfaces the lowering and translation need.
void registerCodegenDialects(mlir::DialectRegistry &registry);

/// Weights larger than this (in all) go to a file beside the library.
constexpr int64_t kEmbeddedWeightsLimit = int64_t(64) << 20;

struct LibraryOptions {
  std::string symbol = "tern_model_abi"; // the exported descriptor
  std::string modelName;
  std::string weightsFile; // when non-empty, weights are external under this name
  std::string gpuArch;     // when non-empty, a GPU model whose kernels are for this chip
};

/// Collects the weights blob from a module at the Buffers stage (constant
/// globals with `tern.weight_offset`) and erases those globals.
std::vector<char> takeWeights(mlir::ModuleOp module);

/// The working memory a run needs (tern-plan-memory's arena): `bytes`,
/// then `scaledBytes` per unit of the product of the inputs' dims
/// `scaledBy` ((input, dim) pairs, at most two; none: nothing scales).
struct ArenaPlan {
  int64_t bytes = 0, scaledBytes = 0;
  llvm::SmallVector<std::pair<int64_t, int64_t>, 2> scaledBy;
  /// Read from the module attributes tern-plan-memory sets.
  static ArenaPlan of(mlir::ModuleOp module);
};

/// Translates a module at the LLVM-dialect stage to LLVM IR for `tm`, adding
/// the entry wrapper and the ABI descriptor; internal symbols get internal
/// linkage. `weights` is embedded unless options.weightsFile is set.
std::unique_ptr<llvm::Module> translateModel(mlir::ModuleOp module, llvm::LLVMContext &ctx,
                                             llvm::TargetMachine &tm, const ModelInterface &iface,
                                             const std::vector<char> &weights, const ArenaPlan &arena,
                                             const LibraryOptions &options);

/// LLVM's default pipeline at -O<level>.
void optimizeModule(llvm::Module &module, llvm::TargetMachine &tm, int level);

/// Emits assembly or an object file.
bool emitMachineCode(llvm::Module &module, llvm::TargetMachine &tm, bool assembly,
                     llvm::raw_pwrite_stream &os, std::string &error);

/// Links one object file into a shared library for `tm`'s target with lld,
/// in this process; the library depends on libm.so.6.
bool linkSharedLibrary(llvm::StringRef object, llvm::StringRef output, llvm::TargetMachine &tm,
                       std::string &error);

/// The C header declaring an object file's descriptor and an opener.
std::string objectHeader(const std::string &symbol, const std::string &guard, const ModelInterface &iface);

} // namespace tern

#endif // TERN_CODEGEN_CODEGEN_H
