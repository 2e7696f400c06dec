//===- EmulateGPULaunches.cpp - gpu.launch as host parallel loops ---------===//
//
// Testing the GPU pipeline without a GPU: after tern-map-to-gpu, every
// launch becomes the parallel loop over its blocks and threads that it
// stands for, so the model compiles for the host CPU and its outputs can be
// compared with ONNX Runtime's: a check of the GPU bufferization, of the
// launches' index arithmetic and of the runs of one-thread work, though
// not of NVVM code generation.
//
//===----------------------------------------------------------------------===//

#include "lib/Codegen/EntryBuffers.h"
#include "passes/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"

namespace tern {
#define GEN_PASS_DEF_TERNEMULATEGPULAUNCHESPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;

namespace {

struct EmulateGPULaunchesPass : tern::impl::TernEmulateGPULaunchesPassBase<EmulateGPULaunchesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<func::FuncOp> main = tern::entryFunction(module);
    if (failed(main))
      return signalPassFailure();
    SmallVector<gpu::LaunchOp> launches;
    module.walk([&](gpu::LaunchOp l) { launches.push_back(l); });
    for (gpu::LaunchOp launch : launches) {
      Region &body = launch.getBody();
      if (!body.hasOneBlock() || launch.getNumResults() != 0 || launch.getAsyncToken()) {
        launch.emitError("only synchronous single-block launches can be emulated");
        return signalPassFailure();
      }
      bool synchronizes = false;
      body.walk([&](Operation *op) {
        if (isa<gpu::BarrierOp>(op))
          synchronizes = true;
      });
      if (synchronizes) {
        launch.emitError("a launch whose threads synchronize cannot be emulated by loops");
        return signalPassFailure();
      }
      OpBuilder b(launch);
      Location loc = launch.getLoc();
      Value zero = arith::ConstantIndexOp::create(b, loc, 0);
      Value one = arith::ConstantIndexOp::create(b, loc, 1);
      gpu::KernelDim3 grid = launch.getGridSizeOperandValues(), block = launch.getBlockSizeOperandValues();
      SmallVector<Value> ubs{grid.x, grid.y, grid.z, block.x, block.y, block.z};
      auto loop = scf::ParallelOp::create(b, loc, SmallVector<Value>(6, zero), ubs, SmallVector<Value>(6, one));
      IRMapping map;
      gpu::KernelDim3 bid = launch.getBlockIds(), tid = launch.getThreadIds();
      gpu::KernelDim3 gdim = launch.getGridSize(), bdim = launch.getBlockSize();
      SmallVector<Value> ivs = loop.getInductionVars(); // a copy: the call returns a temporary
      map.map(bid.x, ivs[0]), map.map(bid.y, ivs[1]), map.map(bid.z, ivs[2]);
      map.map(tid.x, ivs[3]), map.map(tid.y, ivs[4]), map.map(tid.z, ivs[5]);
      map.map(gdim.x, grid.x), map.map(gdim.y, grid.y), map.map(gdim.z, grid.z);
      map.map(bdim.x, block.x), map.map(bdim.y, block.y), map.map(bdim.z, block.z);
      b.setInsertionPoint(loop.getBody()->getTerminator());
      for (Operation &op : body.front().without_terminator())
        b.clone(op, map);
      launch.erase();
    }
    // tern-map-to-gpu's hooks argument: the CPU lowering adds its own.
    func::FuncOp f = *main;
    unsigned last = f.getNumArguments() - 1;
    auto name = f.getArgAttrOfType<StringAttr>(last, "tern.name");
    if (name && name.getValue() == "__runtime" && f.getArgument(last).use_empty())
      (void)f.eraseArgument(last);
  }
};

} // namespace
