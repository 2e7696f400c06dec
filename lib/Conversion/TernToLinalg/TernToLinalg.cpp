//===- TernToLinalg.cpp - the tern-to-linalg conversion pass -------------===//

#include "lib/Conversion/TernToLinalg/Lowering.h"
#include "dialects/Tern/TernOps.h"
#include "passes/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"

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

std::string nodeName(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  return "";
}

struct TernToLinalgPass : tern::impl::TernToLinalgPassBase<TernToLinalgPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    LoweringTable table;
    populateMathLowerings(table);
    populateNNLowerings(table);
    populateNormalizationLowerings(table);
    populateTensorLowerings(table);
    populateQuantLowerings(table);
    populateAttentionLowerings(table);
    populateWinogradLowerings(table);

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
      signalPassFailure();
  }
};

} // namespace
} // namespace tern::lowering
