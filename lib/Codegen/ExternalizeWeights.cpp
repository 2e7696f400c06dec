//===- ExternalizeWeights.cpp - large constants into one weights blob ----===//

#include "lib/Codegen/EntryBuffers.h"
#include "passes/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinAttributes.h"

namespace tern {
#define GEN_PASS_DEF_TERNEXTERNALIZEWEIGHTSPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;

namespace {

struct ExternalizeWeightsPass : tern::impl::TernExternalizeWeightsPassBase<ExternalizeWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<func::FuncOp> main = tern::entryFunction(module);
    if (failed(main))
      return signalPassFailure();
    FailureOr<Value> weights = tern::appendEntryBuffer(*main, "__weights");
    if (failed(weights))
      return signalPassFailure();
    OpBuilder b(&getContext());

    int64_t size = 0;
    llvm::StringMap<int64_t> offsets;
    for (auto global : module.getOps<memref::GlobalOp>()) {
      Attribute init = global.getInitialValueAttr();
      bool moved = isa_and_nonnull<DenseResourceElementsAttr>(init) ||
                   (allConstants && isa_and_nonnull<DenseElementsAttr>(init));
      if (!moved || !global.getConstant())
        continue;
      MemRefType type = global.getType();
      int64_t bytes = tern::bufferBytes(type);
      size = static_cast<int64_t>(llvm::alignTo(size, 64));
      offsets[global.getSymName()] = size;
      global->setAttr("tern.weight_offset", b.getI64IntegerAttr(size));
      size += bytes;
    }
    module->setAttr("tern.weights_size", b.getI64IntegerAttr(size));
    main->walk([&](memref::GetGlobalOp get) {
      auto it = offsets.find(get.getName());
      if (it == offsets.end())
        return;
      b.setInsertionPoint(get);
      Value off = arith::ConstantIndexOp::create(b, get.getLoc(), it->second);
      Value view = memref::ViewOp::create(b, get.getLoc(), get.getType(), *weights, off, ValueRange{});
      get.replaceAllUsesWith(view);
      get.erase();
    });
  }
};

} // namespace
