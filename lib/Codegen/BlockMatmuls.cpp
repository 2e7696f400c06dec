//===- BlockMatmuls.cpp - matmuls as parallel blocks of their output ------===//

#include "passes/Passes.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

namespace tern {
#define GEN_PASS_DEF_TERNBLOCKMATMULSPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;

namespace {

struct BlockMatmulsPass : tern::impl::TernBlockMatmulsPassBase<BlockMatmulsPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<int64_t> sizes(blockSizes.begin(), blockSizes.end());
    if (sizes.empty())
      sizes = {32, 256};
    if (sizes.size() != 2) {
      getOperation().emitError("block-sizes needs two values (m, n)");
      return signalPassFailure();
    }
    SmallVector<linalg::MatmulOp> matmuls;
    getOperation().walk([&](linalg::MatmulOp op) {
      if (op.hasPureTensorSemantics())
        matmuls.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::MatmulOp op : matmuls) {
      rewriter.setInsertionPoint(op);
      scf::SCFTilingOptions options;
      options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
      options.setTileSizes(getAsIndexOpFoldResult(&getContext(), {sizes[0], sizes[1], 0}));
      FailureOr<scf::SCFTilingResult> blocks =
          scf::tileUsingSCF(rewriter, cast<TilingInterface>(op.getOperation()), options);
      if (succeeded(blocks))
        rewriter.replaceOp(op, blocks->replacements);
    }
  }
};

} // namespace
