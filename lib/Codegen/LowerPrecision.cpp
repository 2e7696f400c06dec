//===- LowerPrecision.cpp - contractions on 16-bit operands ---------------===//
//
// --precision=fp16|bf16: a contraction's f32 operands become f16 or bf16
// (constants converted here, once; activations by a truncating elementwise
// op) and its body extends them back, so it multiplies and accumulates in
// f32 on half the bytes. The operands are what a tensor-core kernel reads.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/PatternMatch.h"

#include <cstring>

namespace tern {
#define GEN_PASS_DEF_TERNLOWERPRECISIONPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;

namespace {

/// IEEE half of an f32, rounded to nearest even (overflow to infinity).
uint16_t toHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000, e = (x >> 23) & 0xff, mant = x & 0x7fffff;
  if (e == 0xff)
    return sign | 0x7c00 | (mant ? 0x200 : 0);
  int exp = int(e) - 127 + 15;
  if (exp >= 31)
    return sign | 0x7c00;
  if (exp <= 0) { // a subnormal half, or zero
    if (exp < -10)
      return sign;
    mant |= 0x800000;
    int shift = 14 - exp;
    uint32_t h = mant >> shift, rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (h & 1)))
      ++h;
    return sign | h;
  }
  uint32_t h = sign | (uint32_t(exp) << 10) | (mant >> 13), rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
    ++h; // a carry into the exponent is the right rounding too
  return h;
}

/// bfloat16 of an f32, rounded to nearest even.
uint16_t toBFloat(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000)
    return (x >> 16) | 0x40;
  return (x + 0x7fff + ((x >> 16) & 1)) >> 16;
}

/// Does the body multiply and add into the output (a contraction)?
bool isContraction(linalg::LinalgOp op) {
  if (op.getNumReductionLoops() == 0 || op.getNumDpsInits() != 1 || op->getNumRegions() != 1)
    return false;
  Block &body = op->getRegion(0).front();
  BlockArgument acc = body.getArguments().back();
  for (Operation *user : acc.getUsers())
    if (auto add = dyn_cast<arith::AddFOp>(user)) {
      Value other = add.getLhs() == acc ? add.getRhs() : add.getLhs();
      if (other.getDefiningOp<arith::MulFOp>())
        return true;
    }
  return false;
}

struct LowerPrecisionPass : tern::impl::TernLowerPrecisionPassBase<LowerPrecisionPass> {
  using Base::Base;

  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    Type narrow = type == "bf16" ? Type(BFloat16Type::get(ctx)) : Type(Float16Type::get(ctx));
    if (type != "f16" && type != "bf16") {
      getOperation().emitError("tern-lower-precision: type must be f16 or bf16, got '") << type << "'";
      return signalPassFailure();
    }
    SmallVector<linalg::LinalgOp> ops;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (op.hasPureTensorSemantics() && isContraction(op))
        ops.push_back(op);
    });
    IRRewriter rewriter(ctx);
    for (linalg::LinalgOp named : ops) {
      linalg::GenericOp op = dyn_cast<linalg::GenericOp>(named.getOperation());
      if (!op) {
        rewriter.setInsertionPoint(named);
        FailureOr<linalg::GenericOp> g = linalg::generalizeNamedOp(rewriter, named);
        if (failed(g))
          continue;
        op = *g;
      }
      Block &body = op.getRegion().front();
      for (OpOperand *in : op.getDpsInputOperands()) {
        auto t = dyn_cast<RankedTensorType>(in->get().getType());
        if (!t || !t.getElementType().isF32())
          continue;
        rewriter.setInsertionPoint(op);
        in->set(narrowed(rewriter, op.getLoc(), in->get(), narrow));
        BlockArgument arg = body.getArgument(in->getOperandNumber());
        arg.setType(narrow);
        rewriter.setInsertionPointToStart(&body);
        Value wide = arith::ExtFOp::create(rewriter, op.getLoc(), rewriter.getF32Type(), arg);
        rewriter.replaceAllUsesExcept(arg, wide, wide.getDefiningOp());
      }
    }
  }

  /// `v` in the narrow type: a constant converted (through reshapes of
  /// one), else truncated elementwise.
  Value narrowed(RewriterBase &b, Location loc, Value v, Type narrow) {
    auto t = cast<RankedTensorType>(v.getType());
    auto nt = RankedTensorType::get(t.getShape(), narrow, t.getEncoding());
    if (auto cst = v.getDefiningOp<arith::ConstantOp>())
      if (Attribute a = convertConstant(cst.getValue(), nt))
        return arith::ConstantOp::create(b, loc, cast<TypedAttr>(a));
    if (auto collapse = v.getDefiningOp<tensor::CollapseShapeOp>())
      if (auto src = collapse.getSrc().getDefiningOp<arith::ConstantOp>()) {
        Value n = narrowed(b, loc, src, narrow);
        if (n.getDefiningOp<arith::ConstantOp>())
          return tensor::CollapseShapeOp::create(b, loc, nt, n, collapse.getReassociationIndices());
      }
    if (auto expand = v.getDefiningOp<tensor::ExpandShapeOp>())
      if (auto src = expand.getSrc().getDefiningOp<arith::ConstantOp>()) {
        Value n = narrowed(b, loc, src, narrow);
        if (n.getDefiningOp<arith::ConstantOp>())
          return tensor::ExpandShapeOp::create(b, loc, nt, n, expand.getReassociationIndices());
      }
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, v);
    Value empty = tensor::EmptyOp::create(b, loc, sizes, narrow);
    AffineMap id = b.getMultiDimIdentityMap(t.getRank());
    SmallVector<utils::IteratorType> iters(t.getRank(), utils::IteratorType::parallel);
    return linalg::GenericOp::create(b, loc, TypeRange{nt}, ValueRange{v}, ValueRange{empty},
                                     ArrayRef<AffineMap>{id, id}, iters,
                                     [&](OpBuilder &nb, Location l, ValueRange args) {
                                       Value r = arith::TruncFOp::create(nb, l, narrow, args[0]);
                                       linalg::YieldOp::create(nb, l, r);
                                     })
        .getResult(0);
  }

  /// The f32 constant `a` as `type` (f16 or bf16 elements), or null.
  Attribute convertConstant(Attribute a, RankedTensorType type) {
    bool bf = type.getElementType().isBF16();
    if (auto dense = dyn_cast<DenseFPElementsAttr>(a)) {
      SmallVector<APFloat> values;
      for (APFloat v : dense.getValues<APFloat>()) {
        float f = v.convertToFloat();
        values.push_back(APFloat(bf ? APFloat::BFloat() : APFloat::IEEEhalf(),
                                 APInt(16, bf ? toBFloat(f) : toHalf(f))));
      }
      return DenseElementsAttr::get(type, values);
    }
    auto resource = dyn_cast<DenseResourceElementsAttr>(a);
    AsmResourceBlob *blob = resource ? resource.getRawHandle().getBlob() : nullptr;
    if (!blob)
      return nullptr;
    ArrayRef<char> data = blob->getData();
    int64_t n = type.getNumElements();
    if ((int64_t)data.size() < n * 4)
      return nullptr;
    AsmResourceBlob out = HeapAsmResourceBlob::allocate(n * 2, 64);
    auto *dst = reinterpret_cast<uint16_t *>(out.getMutableData().data());
    for (int64_t i = 0; i < n; ++i) {
      float f;
      std::memcpy(&f, data.data() + 4 * i, 4);
      dst[i] = bf ? toBFloat(f) : toHalf(f);
    }
    std::string name = (resource.getRawHandle().getKey() + (bf ? "_bf16" : "_f16")).str();
    return DenseResourceElementsAttr::get(type, name, std::move(out));
  }
};

} // namespace
