//===- MergeGPUModules.cpp - one gpu.module for every kernel --------------===//

#include "lib/Codegen/EntryBuffers.h"
#include "passes/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/Builders.h"

namespace tern {
#define GEN_PASS_DEF_TERNMERGEGPUMODULESPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;

namespace {

struct MergeGPUModulesPass : tern::impl::TernMergeGPUModulesPassBase<MergeGPUModulesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> modules(module.getOps<gpu::GPUModuleOp>());
    if (modules.size() <= 1)
      return;
    for (gpu::GPUModuleOp m : modules)
      if (m.getTargetsAttr() || m.getOffloadingHandlerAttr()) {
        m.emitError("tern-merge-gpu-modules runs before targets are attached");
        return signalPassFailure();
      }
    OpBuilder b(&getContext());
    b.setInsertionPoint(modules.front());
    auto merged = gpu::GPUModuleOp::create(b, modules.front().getLoc(), "tern_kernels");
    Block &body = merged.getBodyRegion().front();
    // Old (module, function) -> new function name.
    DenseMap<std::pair<StringAttr, StringAttr>, StringAttr> renamed;
    for (gpu::GPUModuleOp m : modules) {
      SmallVector<Operation *> ops;
      for (Operation &op : m.getBodyRegion().front())
        ops.push_back(&op);
      for (Operation *op : ops) {
        auto func = dyn_cast<gpu::GPUFuncOp>(op);
        if (!func) {
          op->emitError("tern-merge-gpu-modules: only kernels are expected in an outlined gpu.module");
          return signalPassFailure();
        }
        // Named after the module, the ONNX node and, for a tensor-core
        // kernel, "_mma": a profile names what each kernel runs.
        bool mma = func.walk([](NVVM::MmaOp) { return WalkResult::interrupt(); }).wasInterrupted();
        std::string base = ops.size() == 1 ? m.getSymName().str() : (m.getSymName() + "_" + func.getName()).str();
        StringAttr name = b.getStringAttr(base + tern::nodeSuffix(func.getLoc()) + (mma ? "_mma" : ""));
        renamed[{m.getSymNameAttr(), func.getNameAttr()}] = name;
        func->moveBefore(&body, body.end());
        func.setName(name);
      }
    }
    module.walk([&](gpu::LaunchFuncOp launch) {
      auto it = renamed.find({launch.getKernelModuleName(), launch.getKernelName()});
      if (it != renamed.end())
        launch.setKernelAttr(SymbolRefAttr::get(merged.getSymNameAttr(), {FlatSymbolRefAttr::get(it->second)}));
    });
    for (gpu::GPUModuleOp m : modules)
      m.erase();
  }
};

} // namespace
