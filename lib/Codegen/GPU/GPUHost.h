//===- GPUHost.h - a GPU model's host code onto the runtime ---------------===//

#ifndef TERN_LIB_CODEGEN_GPU_GPUHOST_H
#define TERN_LIB_CODEGEN_GPU_GPUHOST_H

#include <string>

namespace llvm {
class Function;
class Module;
} // namespace llvm

namespace tern {

/// Routes a translated GPU model's kernel loading, launches and buffer
/// allocations in `main` to the runtime's CUDA layer (tern_abi_gpu, read
/// from main's hooks argument); see GPUHost.cpp. False with `error` when the
/// host code does something the layer cannot.
bool lowerGPURuntimeCalls(llvm::Module &m, llvm::Function *main, std::string &error);

} // namespace tern

#endif
