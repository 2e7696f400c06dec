//===- TernToLinalg.cpp - the tern-to-linalg conversion pass -------------===//

#include "lib/Conversion/TernToLinalg/Lowering.h"
#include "dialects/Tern/SymbolicDims.h"
#include "dialects/Tern/TernOps.h"
#include "passes/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace tern {
#define GEN_PASS_DEF_TERNTOLINALGPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;

namespace tern::lowering {
namespace {

/// One pattern per tern op name, calling the op's lowering from the table.
struct TableLowering : ConversionPattern {
  TableLowering(const TypeConverter &converter, MLIRContext *ctx, StringRef name, LowerFn fn)
      : ConversionPattern(converter, name, /*benefit=*/1, ctx), fn(std::move(fn)) {}
  LogicalResult matchAndRewrite(Operation *op, ArrayRef<Value> operands,
                                ConversionPatternRewriter &rw) const override {
    return fn(op, operands, rw);
  }
  LowerFn fn;
};

/// tensor.dim of an expand_shape: the size it was given.
struct DimOfExpandShape : OpRewritePattern<tensor::DimOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(tensor::DimOp dim, PatternRewriter &rw) const override {
    auto expand = dim.getSource().getDefiningOp<tensor::ExpandShapeOp>();
    std::optional<int64_t> i = dim.getConstantIndex();
    if (!expand || !i)
      return failure();
    rw.replaceOp(dim, getValueOrCreateConstantIndexOp(rw, dim.getLoc(), expand.getMixedOutputShape()[*i]));
    return success();
  }
};

/// tensor.dim of a collapse_shape's dim that is one source dim: that one's.
struct DimOfCollapseShape : OpRewritePattern<tensor::DimOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(tensor::DimOp dim, PatternRewriter &rw) const override {
    auto collapse = dim.getSource().getDefiningOp<tensor::CollapseShapeOp>();
    std::optional<int64_t> i = dim.getConstantIndex();
    if (!collapse || !i || collapse.getReassociationIndices()[*i].size() != 1)
      return failure();
    rw.replaceOpWithNewOp<tensor::DimOp>(dim, collapse.getSrc(), collapse.getReassociationIndices()[*i][0]);
    return success();
  }
};

/// Every size known only at run time traced back to where it comes from
/// (an input's dim, asked once at the top of the function): the lowerings ask each operand for its sizes, and a
/// batch read from two operands of an Add (max(n, n) for broadcasting)
/// or through a reshape would be two values that the later passes cannot
/// tell equal. Unequal, they kept a convolution's result buffer beside its
/// fused residual add's rather than adding in place (one more store per
/// element, and a buffer malloc'd per run).
void traceDimsToSources(ModuleOp module) {
  RewritePatternSet patterns(module.getContext());
  patterns.add<DimOfExpandShape, DimOfCollapseShape>(module.getContext());
  memref::populateResolveRankedShapedTypeResultDimsPatterns(patterns);
  tensor::DimOp::getCanonicalizationPatterns(patterns, module.getContext());
  // Only the dims and what they become: the rest is the canonicalizer's.
  SmallVector<Operation *> dims;
  module.walk([&](tensor::DimOp d) { dims.push_back(d); });
  GreedyRewriteConfig config;
  config.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps);
  (void)applyOpPatternsGreedily(dims, std::move(patterns), config);
  // One value per dim of an argument, asked at the top of its function;
  // one per dim name across the inputs (the runtime checks that inputs'
  // dims of the same name agree: bert's three [batch, sequence] inputs).
  module.walk([](func::FuncOp f) {
    if (f.isExternal())
      return;
    Block &entry = f.getBody().front();
    llvm::DenseMap<std::pair<Value, int64_t>, Value> first;
    OpBuilder b = OpBuilder::atBlockBegin(&entry);
    f.walk([&](tensor::DimOp dim) {
      auto arg = dyn_cast<BlockArgument>(dim.getSource());
      std::optional<int64_t> i = dim.getConstantIndex();
      if (!arg || arg.getOwner() != &entry || !i)
        return;
      // The first input's dim of this dim's name (tern::canonicalDim).
      DimSymbol symbol = canonicalDim(arg, *i);
      std::pair<Value, int64_t> key = {symbol.value, symbol.dim};
      Value &at = first[key];
      if (at == dim.getResult())
        return;
      if (!at)
        at = tensor::DimOp::create(b, dim.getLoc(), key.first, key.second);
      dim.getResult().replaceAllUsesWith(at);
      dim.erase();
    });
  });
}

std::string nodeName(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  return "";
}

struct TernToLinalgPass : tern::impl::TernToLinalgPassBase<TernToLinalgPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    // What a failed run-time check calls: declared here, never defined;
    // code generation turns each call into one of the runtime's
    // check_failed hook (removed again when no lowering made a check).
    func::FuncOp failDecl;
    if (broadcastAtRunTime && !module.lookupSymbol("__tern_fail")) {
      OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
      auto i64 = b.getI64Type();
      failDecl = func::FuncOp::create(b, module.getLoc(), "__tern_fail", b.getFunctionType({i64, i64, i64}, {}));
      failDecl.setPrivate();
    }
    LoweringTable table;
    LowerOptions options;
    options.broadcastAtRunTime = broadcastAtRunTime;
    populateMathLowerings(table, options);
    populateNNLowerings(table);
    populateNormalizationLowerings(table);
    populateTensorLowerings(table, options);
    populateQuantLowerings(table);
    populateAttentionLowerings(table);
    populateWinogradLowerings(table);
    populatePointwiseDepthwiseLowerings(table);

    // Report every op without a lowering at once, by ONNX node.
    bool missing = false;
    module.walk([&](Operation *op) {
      if (op->getDialect() && op->getDialect()->getNamespace() == "tern" &&
          !table.count(op->getName().getStringRef())) {
        std::string node = nodeName(op->getLoc());
        op->emitError() << (node.empty() ? "" : "node '" + node + "': ") << "no lowering for "
                        << op->getName() << " yet";
        missing = true;
      }
      for (Type t : op->getResultTypes())
        if (auto tt = dyn_cast<TensorType>(t)) {
          Type e = tt.getElementType();
          bool ok = e.isF16() || e.isBF16() || e.isF32() || e.isF64() || e.isIndex() ||
                    (e.isInteger() && llvm::is_contained({1u, 8u, 16u, 32u, 64u}, e.getIntOrFloatBitWidth()));
          if (!ok) {
            std::string node = nodeName(op->getLoc());
            op->emitError() << (node.empty() ? "" : "node '" + node + "': ") << "element type " << e
                            << " is not supported by code generation yet";
            missing = true;
          }
        }
    });
    if (missing)
      return signalPassFailure();

    TypeConverter converter;
    converter.addConversion([](Type t) { return t; });
    converter.addConversion([](RankedTensorType t) -> Type { return signlessTensor(t); });
    auto materialize = [](OpBuilder &b, Type type, ValueRange inputs, Location loc) -> Value {
      return UnrealizedConversionCastOp::create(b, loc, type, inputs).getResult(0);
    };
    converter.addSourceMaterialization(materialize);
    converter.addTargetMaterialization(materialize);

    ConversionTarget target(*ctx);
    target.addLegalDialect<linalg::LinalgDialect, tensor::TensorDialect, arith::ArithDialect,
                           math::MathDialect, scf::SCFDialect, bufferization::BufferizationDialect,
                           vector::VectorDialect>();
    target.addIllegalDialect<TernDialect>();
    target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp f) {
      return converter.isSignatureLegal(f.getFunctionType()) && converter.isLegal(&f.getBody());
    });
    target.addDynamicallyLegalOp<func::ReturnOp>([&](func::ReturnOp r) { return converter.isLegal(r); });
    target.addDynamicallyLegalOp<func::CallOp>([&](func::CallOp c) { return converter.isLegal(c); });

    RewritePatternSet patterns(ctx);
    for (auto &entry : table)
      patterns.add<TableLowering>(converter, ctx, entry.getKey(), entry.getValue());
    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns, converter);
    populateReturnOpTypeConversionPattern(patterns, converter);
    populateCallOpTypeConversionPattern(patterns, converter);
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      return signalPassFailure();
    if (failDecl && failDecl.symbolKnownUseEmpty(module))
      failDecl.erase();
    traceDimsToSources(module);
  }
};

} // namespace
} // namespace tern::lowering
