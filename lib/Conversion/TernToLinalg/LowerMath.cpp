//===- LowerMath.cpp - elementwise ops, casts and reductions to linalg ---===//
//
// Every elementwise tern op becomes one linalg.generic with numpy
// broadcasting maps; its body is the op's scalar formula below (one place,
// also what later fusion reuses). Reductions become linalg.generic with
// reduction iterators, followed by an expand_shape when dims are kept.
//
//===----------------------------------------------------------------------===//

#include "lib/Conversion/TernToLinalg/Lowering.h"
#include "dialects/Tern/TernOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

namespace tern::lowering {
namespace {

/// What a scalar formula knows about its op: the original element types.
struct ScalarInfo {
  Operation *op;
  SmallVector<Type> in; // original operand element types
  Type out;             // original result element type
  bool isFloat() const { return isa<FloatType>(in.empty() ? out : in[0]); }
  bool isUnsignedInt() const { return isUnsigned(in.empty() ? out : in[0]); }
};
using OpScalarFn = std::function<Value(OpBuilder &, Location, ValueRange, const ScalarInfo &)>;

float attrF(Operation *op, StringRef name) {
  return cast<FloatAttr>(op->getAttr(name)).getValueAsDouble();
}

Value cst(OpBuilder &b, Location loc, Value like, double v) {
  return constantScalar(b, loc, like.getType(), v);
}

/// Registers an elementwise op: operands broadcast, the formula per element.
void addElementwise(LoweringTable &t, const LowerOptions &options, StringRef name, OpScalarFn fn) {
  t[name] = [fn, options](Operation *op, ValueRange operands, ConversionPatternRewriter &rw) -> LogicalResult {
    ScalarInfo info{op, {}, elementTypeOf(op->getResult(0))};
    for (Value v : op->getOperands())
      info.in.push_back(elementTypeOf(v));
    auto resultType = signlessTensor(op->getResult(0).getType());
    SmallVector<OpFoldResult> dims;
    SmallVector<Value> inputs = broadcastAtRunTime(rw, op->getLoc(), op, operands, resultType, dims, options);
    Value r = elementwiseTo(rw, op->getLoc(), inputs, resultType, dims,
                            [&](OpBuilder &b, Location loc, ValueRange args) { return fn(b, loc, args, info); });
    rw.replaceOp(op, r);
    return success();
  };
}

//===-- formulas ---------------------------------------------------------===//

Value cmp(OpBuilder &b, Location loc, const ScalarInfo &s, arith::CmpFPredicate fp,
          arith::CmpIPredicate sp, arith::CmpIPredicate up, Value x, Value y) {
  if (isa<FloatType>(x.getType()))
    return arith::CmpFOp::create(b, loc, fp, x, y);
  return arith::CmpIOp::create(b, loc, s.isUnsignedInt() ? up : sp, x, y);
}
Value lessThan(OpBuilder &b, Location loc, const ScalarInfo &s, Value x, Value y) {
  return cmp(b, loc, s, arith::CmpFPredicate::OLT, arith::CmpIPredicate::slt, arith::CmpIPredicate::ult, x, y);
}
Value maxOf(OpBuilder &b, Location loc, const ScalarInfo &s, Value x, Value y) {
  if (isa<FloatType>(x.getType()))
    return arith::MaximumFOp::create(b, loc, x, y);
  return s.isUnsignedInt() ? Value(arith::MaxUIOp::create(b, loc, x, y)) : Value(arith::MaxSIOp::create(b, loc, x, y));
}
Value minOf(OpBuilder &b, Location loc, const ScalarInfo &s, Value x, Value y) {
  if (isa<FloatType>(x.getType()))
    return arith::MinimumFOp::create(b, loc, x, y);
  return s.isUnsignedInt() ? Value(arith::MinUIOp::create(b, loc, x, y)) : Value(arith::MinSIOp::create(b, loc, x, y));
}
Value add(OpBuilder &b, Location loc, Value x, Value y) {
  if (isa<FloatType>(x.getType()))
    return arith::AddFOp::create(b, loc, x, y);
  if (x.getType().isInteger(1))
    return arith::OrIOp::create(b, loc, x, y);
  return arith::AddIOp::create(b, loc, x, y);
}
Value mul(OpBuilder &b, Location loc, Value x, Value y) {
  if (isa<FloatType>(x.getType()))
    return arith::MulFOp::create(b, loc, x, y);
  if (x.getType().isInteger(1))
    return arith::AndIOp::create(b, loc, x, y);
  return arith::MulIOp::create(b, loc, x, y);
}
Value sub(OpBuilder &b, Location loc, Value x, Value y) {
  if (isa<FloatType>(x.getType()))
    return arith::SubFOp::create(b, loc, x, y);
  return arith::SubIOp::create(b, loc, x, y);
}
Value div(OpBuilder &b, Location loc, const ScalarInfo &s, Value x, Value y) {
  if (isa<FloatType>(x.getType()))
    return arith::DivFOp::create(b, loc, x, y);
  // Integer division by zero is undefined in ONNX; keep it from trapping.
  Value zero = cst(b, loc, y, 0), one = cst(b, loc, y, 1);
  Value isZero = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, y, zero);
  Value safe = arith::SelectOp::create(b, loc, isZero, one, y);
  return s.isUnsignedInt() ? Value(arith::DivUIOp::create(b, loc, x, safe))
                           : Value(arith::DivSIOp::create(b, loc, x, safe));
}
Value sigmoid(OpBuilder &b, Location loc, Value x) {
  Value one = cst(b, loc, x, 1);
  Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, x));
  return arith::DivFOp::create(b, loc, one, arith::AddFOp::create(b, loc, one, e));
}
Value softplus(OpBuilder &b, Location loc, Value x) {
  // log(1 + exp(x)), = x where exp overflows.
  Value e = math::ExpOp::create(b, loc, x);
  Value l = math::Log1pOp::create(b, loc, e);
  Value big = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x, cst(b, loc, x, 30));
  return arith::SelectOp::create(b, loc, big, x, l);
}
Value select(OpBuilder &b, Location loc, Value c, Value x, Value y) {
  return arith::SelectOp::create(b, loc, c, x, y);
}

template <typename MathOp> OpScalarFn unaryMath() {
  return [](OpBuilder &b, Location loc, ValueRange a, const ScalarInfo &) -> Value {
    return MathOp::create(b, loc, a[0]);
  };
}

void populateElementwise(LoweringTable &t, const LowerOptions &options) {
  using S = const ScalarInfo &;
  using VR = ValueRange;
  addElementwise(t, options, "tern.abs", [](OpBuilder &b, Location loc, VR a, S s) -> Value {
    if (s.isFloat())
      return math::AbsFOp::create(b, loc, a[0]);
    if (s.isUnsignedInt())
      return a[0];
    return math::AbsIOp::create(b, loc, a[0]);
  });
  addElementwise(t, options, "tern.neg", [](OpBuilder &b, Location loc, VR a, S s) -> Value {
    if (s.isFloat())
      return arith::NegFOp::create(b, loc, a[0]);
    return arith::SubIOp::create(b, loc, cst(b, loc, a[0], 0), a[0]);
  });
  addElementwise(t, options, "tern.sign", [](OpBuilder &b, Location loc, VR a, S s) -> Value {
    Value x = a[0], zero = cst(b, loc, x, 0);
    Value pos = cmp(b, loc, s, arith::CmpFPredicate::OGT, arith::CmpIPredicate::sgt, arith::CmpIPredicate::ugt, x, zero);
    Value neg = lessThan(b, loc, s, x, zero);
    Value r = select(b, loc, neg, cst(b, loc, x, -1), zero);
    return select(b, loc, pos, cst(b, loc, x, 1), r);
  });
  addElementwise(t, options, "tern.relu", [](OpBuilder &b, Location loc, VR a, S s) -> Value {
    return maxOf(b, loc, s, a[0], cst(b, loc, a[0], 0));
  });
  addElementwise(t, options, "tern.sigmoid", [](OpBuilder &b, Location loc, VR a, S) { return sigmoid(b, loc, a[0]); });
  addElementwise(t, options, "tern.tanh", unaryMath<math::TanhOp>());
  addElementwise(t, options, "tern.sqrt", unaryMath<math::SqrtOp>());
  addElementwise(t, options, "tern.exp", unaryMath<math::ExpOp>());
  addElementwise(t, options, "tern.log", unaryMath<math::LogOp>());
  addElementwise(t, options, "tern.erf", unaryMath<math::ErfOp>());
  addElementwise(t, options, "tern.cos", unaryMath<math::CosOp>());
  addElementwise(t, options, "tern.sin", unaryMath<math::SinOp>());
  addElementwise(t, options, "tern.tan", unaryMath<math::TanOp>());
  addElementwise(t, options, "tern.acos", unaryMath<math::AcosOp>());
  addElementwise(t, options, "tern.asin", unaryMath<math::AsinOp>());
  addElementwise(t, options, "tern.atan", unaryMath<math::AtanOp>());
  addElementwise(t, options, "tern.cosh", unaryMath<math::CoshOp>());
  addElementwise(t, options, "tern.sinh", unaryMath<math::SinhOp>());
  addElementwise(t, options, "tern.acosh", unaryMath<math::AcoshOp>());
  addElementwise(t, options, "tern.asinh", unaryMath<math::AsinhOp>());
  addElementwise(t, options, "tern.atanh", unaryMath<math::AtanhOp>());
  addElementwise(t, options, "tern.floor", unaryMath<math::FloorOp>());
  addElementwise(t, options, "tern.ceil", unaryMath<math::CeilOp>());
  addElementwise(t, options, "tern.round", unaryMath<math::RoundEvenOp>());
  addElementwise(t, options, "tern.reciprocal", [](OpBuilder &b, Location loc, VR a, S) -> Value {
    return arith::DivFOp::create(b, loc, cst(b, loc, a[0], 1), a[0]);
  });
  addElementwise(t, options, "tern.softplus", [](OpBuilder &b, Location loc, VR a, S) { return softplus(b, loc, a[0]); });
  addElementwise(t, options, "tern.softsign", [](OpBuilder &b, Location loc, VR a, S) -> Value {
    Value d = arith::AddFOp::create(b, loc, cst(b, loc, a[0], 1), math::AbsFOp::create(b, loc, a[0]));
    return arith::DivFOp::create(b, loc, a[0], d);
  });
  addElementwise(t, options, "tern.hard_swish", [](OpBuilder &b, Location loc, VR a, S s) -> Value {
    Value x = a[0];
    Value h = arith::AddFOp::create(b, loc, arith::MulFOp::create(b, loc, x, cst(b, loc, x, 1.0 / 6)),
                                    cst(b, loc, x, 0.5));
    h = minOf(b, loc, s, maxOf(b, loc, s, h, cst(b, loc, x, 0)), cst(b, loc, x, 1));
    return arith::MulFOp::create(b, loc, x, h);
  });
  addElementwise(t, options, "tern.mish", [](OpBuilder &b, Location loc, VR a, S) -> Value {
    return arith::MulFOp::create(b, loc, a[0], math::TanhOp::create(b, loc, softplus(b, loc, a[0])));
  });
  addElementwise(t, options, "tern.not", [](OpBuilder &b, Location loc, VR a, S) -> Value {
    return arith::XOrIOp::create(b, loc, a[0], cst(b, loc, a[0], 1));
  });
  addElementwise(t, options, "tern.bitwise_not", [](OpBuilder &b, Location loc, VR a, S) -> Value {
    return arith::XOrIOp::create(b, loc, a[0], cst(b, loc, a[0], -1));
  });
  addElementwise(t, options, "tern.leaky_relu", [](OpBuilder &b, Location loc, VR a, S s) -> Value {
    Value x = a[0];
    Value neg = lessThan(b, loc, s, x, cst(b, loc, x, 0));
    return select(b, loc, neg, arith::MulFOp::create(b, loc, x, cst(b, loc, x, attrF(s.op, "alpha"))), x);
  });
  addElementwise(t, options, "tern.elu", [](OpBuilder &b, Location loc, VR a, S s) -> Value {
    Value x = a[0];
    Value neg = lessThan(b, loc, s, x, cst(b, loc, x, 0));
    Value e = arith::MulFOp::create(b, loc, cst(b, loc, x, attrF(s.op, "alpha")),
                                    math::ExpM1Op::create(b, loc, x));
    return select(b, loc, neg, e, x);
  });
  addElementwise(t, options, "tern.celu", [](OpBuilder &b, Location loc, VR a, S s) -> Value {
    Value x = a[0], alpha = cst(b, loc, x, attrF(s.op, "alpha")), zero = cst(b, loc, x, 0);
    Value e = arith::MulFOp::create(b, loc, alpha,
                                    math::ExpM1Op::create(b, loc, arith::DivFOp::create(b, loc, x, alpha)));
    return arith::AddFOp::create(b, loc, maxOf(b, loc, s, x, zero), minOf(b, loc, s, e, zero));
  });
  addElementwise(t, options, "tern.selu", [](OpBuilder &b, Location loc, VR a, S s) -> Value {
    Value x = a[0];
    Value neg = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLE, x, cst(b, loc, x, 0));
    Value e = arith::MulFOp::create(b, loc, cst(b, loc, x, attrF(s.op, "alpha")),
                                    math::ExpM1Op::create(b, loc, x));
    return arith::MulFOp::create(b, loc, cst(b, loc, x, attrF(s.op, "gamma")), select(b, loc, neg, e, x));
  });
  addElementwise(t, options, "tern.hard_sigmoid", [](OpBuilder &b, Location loc, VR a, S s) -> Value {
    Value x = a[0];
    Value h = arith::AddFOp::create(b, loc, arith::MulFOp::create(b, loc, x, cst(b, loc, x, attrF(s.op, "alpha"))),
                                    cst(b, loc, x, attrF(s.op, "beta")));
    return minOf(b, loc, s, maxOf(b, loc, s, h, cst(b, loc, x, 0)), cst(b, loc, x, 1));
  });
  addElementwise(t, options, "tern.thresholded_relu", [](OpBuilder &b, Location loc, VR a, S s) -> Value {
    Value x = a[0];
    Value gt = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x, cst(b, loc, x, attrF(s.op, "alpha")));
    return select(b, loc, gt, x, cst(b, loc, x, 0));
  });
  addElementwise(t, options, "tern.gelu", [](OpBuilder &b, Location loc, VR a, S s) -> Value {
    Value x = a[0], half = cst(b, loc, x, 0.5), one = cst(b, loc, x, 1);
    Value inner;
    if (cast<StringAttr>(s.op->getAttr("approximate")).getValue() == "tanh") {
      Value x3 = arith::MulFOp::create(b, loc, x, arith::MulFOp::create(b, loc, x, x));
      Value p = arith::AddFOp::create(b, loc, x, arith::MulFOp::create(b, loc, x3, cst(b, loc, x, 0.044715)));
      inner = math::TanhOp::create(b, loc, arith::MulFOp::create(b, loc, p, cst(b, loc, x, 0.7978845608028654)));
    } else {
      inner = math::ErfOp::create(b, loc, arith::MulFOp::create(b, loc, x, cst(b, loc, x, 0.7071067811865476)));
    }
    return arith::MulFOp::create(b, loc, arith::MulFOp::create(b, loc, half, x),
                                 arith::AddFOp::create(b, loc, one, inner));
  });
  addElementwise(t, options, "tern.is_nan", [](OpBuilder &b, Location loc, VR a, S) -> Value {
    return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, a[0], a[0]);
  });
  addElementwise(t, options, "tern.is_inf", [](OpBuilder &b, Location loc, VR a, S s) -> Value {
    Value x = a[0];
    auto f = cast<FloatType>(x.getType());
    Value pinf = arith::ConstantOp::create(b, loc, b.getFloatAttr(f, APFloat::getInf(f.getFloatSemantics())));
    Value ninf = arith::ConstantOp::create(b, loc, b.getFloatAttr(f, APFloat::getInf(f.getFloatSemantics(), true)));
    Value r = arith::ConstantOp::create(b, loc, b.getBoolAttr(false));
    if (cast<BoolAttr>(s.op->getAttr("detect_positive")).getValue())
      r = arith::OrIOp::create(b, loc, r, arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, x, pinf));
    if (cast<BoolAttr>(s.op->getAttr("detect_negative")).getValue())
      r = arith::OrIOp::create(b, loc, r, arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, x, ninf));
    return r;
  });
  addElementwise(t, options, "tern.cast", [](OpBuilder &b, Location loc, VR a, S s) -> Value {
    return convertScalar(b, loc, a[0], s.in[0], s.out);
  });
  addElementwise(t, options, "tern.clip", [](OpBuilder &b, Location loc, VR a, S s) -> Value {
    auto clip = cast<ClipOp>(s.op);
    Value x = a[0];
    unsigned next = 1;
    if (clip.getMin()) {
      Value lo = a[next++];
      x = select(b, loc, lessThan(b, loc, s, x, lo), lo, x);
    }
    if (clip.getMax()) {
      Value hi = a[next++];
      x = select(b, loc, lessThan(b, loc, s, hi, x), hi, x);
    }
    return x;
  });
  addElementwise(t, options, "tern.where", [](OpBuilder &b, Location loc, VR a, S) { return select(b, loc, a[0], a[1], a[2]); });

  // Binary.
  addElementwise(t, options, "tern.add", [](OpBuilder &b, Location loc, VR a, S) { return add(b, loc, a[0], a[1]); });
  addElementwise(t, options, "tern.sub", [](OpBuilder &b, Location loc, VR a, S) { return sub(b, loc, a[0], a[1]); });
  addElementwise(t, options, "tern.mul", [](OpBuilder &b, Location loc, VR a, S) { return mul(b, loc, a[0], a[1]); });
  addElementwise(t, options, "tern.div", [](OpBuilder &b, Location loc, VR a, S s) { return div(b, loc, s, a[0], a[1]); });
  addElementwise(t, options, "tern.pow", [](OpBuilder &b, Location loc, VR a, S s) -> Value {
    Value x = a[0], y = a[1];
    if (isa<FloatType>(x.getType())) {
      y = convertScalar(b, loc, y, s.in[1], s.in[0]);
      return math::PowFOp::create(b, loc, x, y);
    }
    // Integer base: compute in f64, as the reference does, and convert back.
    Type f64 = b.getF64Type();
    Value xf = convertScalar(b, loc, x, s.in[0], f64), yf = convertScalar(b, loc, y, s.in[1], f64);
    Value p = math::PowFOp::create(b, loc, xf, yf);
    return convertScalar(b, loc, p, f64, s.in[0]);
  });
  addElementwise(t, options, "tern.mod", [](OpBuilder &b, Location loc, VR a, S s) -> Value {
    Value x = a[0], y = a[1];
    bool fmod = cast<BoolAttr>(s.op->getAttr("fmod")).getValue();
    if (isa<FloatType>(x.getType())) {
      Value r = arith::RemFOp::create(b, loc, x, y);
      if (fmod)
        return r;
      Value zero = cst(b, loc, x, 0);
      Value rNeg = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, r, zero);
      Value yNeg = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, y, zero);
      Value nz = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, r, zero);
      Value fix = arith::AndIOp::create(b, loc, nz, arith::XOrIOp::create(b, loc, rNeg, yNeg));
      return select(b, loc, fix, arith::AddFOp::create(b, loc, r, y), r);
    }
    Value zero = cst(b, loc, y, 0), one = cst(b, loc, y, 1);
    Value safe = select(b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, y, zero), one, y);
    if (s.isUnsignedInt())
      return arith::RemUIOp::create(b, loc, x, safe);
    Value r = arith::RemSIOp::create(b, loc, x, safe);
    if (fmod)
      return r;
    Value rNeg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, r, zero);
    Value yNeg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, y, zero);
    Value nz = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, r, zero);
    Value fix = arith::AndIOp::create(b, loc, nz, arith::XOrIOp::create(b, loc, rNeg, yNeg));
    return select(b, loc, fix, arith::AddIOp::create(b, loc, r, safe), r);
  });
  addElementwise(t, options, "tern.prelu", [](OpBuilder &b, Location loc, VR a, S s) -> Value {
    Value neg = lessThan(b, loc, s, a[0], cst(b, loc, a[0], 0));
    return select(b, loc, neg, mul(b, loc, a[0], a[1]), a[0]);
  });
  addElementwise(t, options, "tern.bit_shift", [](OpBuilder &b, Location loc, VR a, S s) -> Value {
    bool left = cast<StringAttr>(s.op->getAttr("direction")).getValue() == "LEFT";
    unsigned width = a[0].getType().getIntOrFloatBitWidth();
    Value tooFar = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, a[1], cst(b, loc, a[1], width));
    Value r = left ? Value(arith::ShLIOp::create(b, loc, a[0], a[1])) : Value(arith::ShRUIOp::create(b, loc, a[0], a[1]));
    return select(b, loc, tooFar, cst(b, loc, a[0], 0), r);
  });
  auto bitwise = [](auto tag) {
    using Op = decltype(tag);
    return [](OpBuilder &b, Location loc, VR a, S) -> Value { return Op::create(b, loc, a[0], a[1]); };
  };
  addElementwise(t, options, "tern.and", bitwise(arith::AndIOp()));
  addElementwise(t, options, "tern.or", bitwise(arith::OrIOp()));
  addElementwise(t, options, "tern.xor", bitwise(arith::XOrIOp()));
  addElementwise(t, options, "tern.bitwise_and", bitwise(arith::AndIOp()));
  addElementwise(t, options, "tern.bitwise_or", bitwise(arith::OrIOp()));
  addElementwise(t, options, "tern.bitwise_xor", bitwise(arith::XOrIOp()));
  auto compare = [](arith::CmpFPredicate f, arith::CmpIPredicate si, arith::CmpIPredicate ui) {
    return [=](OpBuilder &b, Location loc, VR a, S s) { return cmp(b, loc, s, f, si, ui, a[0], a[1]); };
  };
  using FP = arith::CmpFPredicate;
  using IP = arith::CmpIPredicate;
  addElementwise(t, options, "tern.equal", compare(FP::OEQ, IP::eq, IP::eq));
  addElementwise(t, options, "tern.less", compare(FP::OLT, IP::slt, IP::ult));
  addElementwise(t, options, "tern.less_or_equal", compare(FP::OLE, IP::sle, IP::ule));
  addElementwise(t, options, "tern.greater", compare(FP::OGT, IP::sgt, IP::ugt));
  addElementwise(t, options, "tern.greater_or_equal", compare(FP::OGE, IP::sge, IP::uge));

  // Variadic.
  addElementwise(t, options, "tern.max", [](OpBuilder &b, Location loc, VR a, S s) {
    Value r = a[0];
    for (Value v : a.drop_front())
      r = maxOf(b, loc, s, r, v);
    return r;
  });
  addElementwise(t, options, "tern.min", [](OpBuilder &b, Location loc, VR a, S s) {
    Value r = a[0];
    for (Value v : a.drop_front())
      r = minOf(b, loc, s, r, v);
    return r;
  });
  addElementwise(t, options, "tern.sum", [](OpBuilder &b, Location loc, VR a, S) {
    Value r = a[0];
    for (Value v : a.drop_front())
      r = add(b, loc, r, v);
    return r;
  });
  addElementwise(t, options, "tern.mean", [](OpBuilder &b, Location loc, VR a, S s) {
    Value r = a[0];
    for (Value v : a.drop_front())
      r = add(b, loc, r, v);
    return div(b, loc, s, r, cst(b, loc, r, a.size()));
  });
}

//===-- reductions -------------------------------------------------------===//

enum class Reduce { Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare };

void addReduction(LoweringTable &t, StringRef name, Reduce kind) {
  t[name] = [kind](Operation *op, ValueRange operands, ConversionPatternRewriter &rw) -> LogicalResult {
    Location loc = op->getLoc();
    Value x = operands[0];
    auto inType = cast<RankedTensorType>(x.getType());
    Type orig = elementTypeOf(op->getOperand(0));
    Type elem = inType.getElementType();
    SmallVector<int64_t> axes = llvm::to_vector(cast<DenseI64ArrayAttr>(op->getAttr("axes")).asArrayRef());
    bool keepdims = cast<BoolAttr>(op->getAttr("keepdims")).getValue();
    bool noop = cast<BoolAttr>(op->getAttr("noop_with_empty_axes")).getValue();
    if (axes.empty()) {
      if (noop) {
        rw.replaceOp(op, x);
        return success();
      }
      axes = llvm::to_vector(llvm::seq<int64_t>(0, inType.getRank()));
    }
    llvm::sort(axes);
    ScalarInfo s{op, {orig}, orig};
    auto resultType = signlessTensor(op->getResult(0).getType());
    auto sumFn = [](OpBuilder &b, Location l, Value acc, Value v) { return add(b, l, acc, v); };
    auto elementwise1 = [&](Value in, std::function<Value(OpBuilder &, Location, Value)> f) {
      auto ty = cast<RankedTensorType>(in.getType());
      return elementwise(rw, loc, ValueRange{in}, ty,
                         [&](OpBuilder &b, Location l, ValueRange a) { return f(b, l, a[0]); });
    };
    Value zero = constantScalar(rw, loc, elem, 0), one = constantScalar(rw, loc, elem, 1);
    Value r;
    switch (kind) {
    case Reduce::Sum:
    case Reduce::Mean:
    case Reduce::LogSum:
      r = reduce(rw, loc, x, axes, keepdims, zero, sumFn);
      if (kind == Reduce::Mean) {
        Value n = elementCount(rw, loc, x, axes, elem);
        r = elementwise1(r, [&](OpBuilder &b, Location l, Value v) { return div(b, l, s, v, n); });
      } else if (kind == Reduce::LogSum) {
        r = elementwise1(r, [](OpBuilder &b, Location l, Value v) -> Value { return math::LogOp::create(b, l, v); });
      }
      break;
    case Reduce::Max:
      r = reduce(rw, loc, x, axes, keepdims, lowestValue(rw, loc, orig),
                 [&](OpBuilder &b, Location l, Value acc, Value v) { return maxOf(b, l, s, acc, v); });
      break;
    case Reduce::Min:
      r = reduce(rw, loc, x, axes, keepdims, highestValue(rw, loc, orig),
                 [&](OpBuilder &b, Location l, Value acc, Value v) { return minOf(b, l, s, acc, v); });
      break;
    case Reduce::Prod:
      r = reduce(rw, loc, x, axes, keepdims, one,
                 [](OpBuilder &b, Location l, Value acc, Value v) { return mul(b, l, acc, v); });
      break;
    case Reduce::L1:
      r = reduce(rw, loc, x, axes, keepdims, zero, [&](OpBuilder &b, Location l, Value acc, Value v) {
        Value a = s.isFloat() ? Value(math::AbsFOp::create(b, l, v)) : Value(math::AbsIOp::create(b, l, v));
        return add(b, l, acc, a);
      });
      break;
    case Reduce::L2:
    case Reduce::SumSquare:
      r = reduce(rw, loc, x, axes, keepdims, zero, [](OpBuilder &b, Location l, Value acc, Value v) {
        return add(b, l, acc, mul(b, l, v, v));
      });
      if (kind == Reduce::L2) {
        r = elementwise1(r, [&](OpBuilder &b, Location l, Value v) -> Value {
          if (s.isFloat())
            return math::SqrtOp::create(b, l, v);
          Value f = convertScalar(b, l, v, orig, b.getF64Type());
          return convertScalar(b, l, math::SqrtOp::create(b, l, f), b.getF64Type(), orig);
        });
      }
      break;
    case Reduce::LogSumExp: {
      // max + log(sum(exp(x - max))): stable for large inputs.
      Value m = reduce(rw, loc, x, axes, /*keepdims=*/true, lowestValue(rw, loc, orig),
                       [&](OpBuilder &b, Location l, Value acc, Value v) { return maxOf(b, l, s, acc, v); });
      // An all -inf slice gives max -inf; shift by 0 there.
      Value shifted = elementwise(rw, loc, ValueRange{x, m}, inType, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
        Value mm = a[1];
        Value isInf = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, mm, lowestValue(b, l, orig));
        mm = select(b, l, isInf, constantScalar(b, l, mm.getType(), 0), mm);
        return math::ExpOp::create(b, l, sub(b, l, a[0], mm));
      });
      Value sum = reduce(rw, loc, shifted, axes, /*keepdims=*/true, zero, sumFn);
      auto keptType = cast<RankedTensorType>(sum.getType());
      r = elementwise(rw, loc, ValueRange{sum, m}, keptType, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
        Value mm = a[1];
        Value isInf = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, mm, lowestValue(b, l, orig));
        mm = select(b, l, isInf, constantScalar(b, l, mm.getType(), 0), mm);
        return arith::AddFOp::create(b, l, math::LogOp::create(b, l, a[0]), mm);
      });
      if (!keepdims) {
        SmallVector<OpFoldResult> all = dimsOf(rw, loc, r), kept;
        for (int64_t i = 0; i < (int64_t)all.size(); ++i)
          if (!llvm::is_contained(axes, i))
            kept.push_back(all[i]);
        r = reshapeTo(rw, loc, r, resultType, kept);
      }
      break;
    }
    }
    replaceWithResult(rw, op, r);
    return success();
  };
}

void addArgReduction(LoweringTable &t, StringRef name, bool isMax) {
  t[name] = [isMax](Operation *op, ValueRange operands, ConversionPatternRewriter &rw) -> LogicalResult {
    Location loc = op->getLoc();
    MLIRContext *ctx = rw.getContext();
    Value x = operands[0];
    auto inType = cast<RankedTensorType>(x.getType());
    Type orig = elementTypeOf(op->getOperand(0));
    int64_t axis = cast<IntegerAttr>(op->getAttr("axis")).getInt();
    bool keepdims = cast<BoolAttr>(op->getAttr("keepdims")).getValue();
    bool last = cast<BoolAttr>(op->getAttr("select_last_index")).getValue();
    ScalarInfo s{op, {orig}, orig};
    int64_t rank = inType.getRank();
    SmallVector<OpFoldResult> inDims = dimsOf(rw, loc, x), outDims;
    SmallVector<int64_t> outShape;
    SmallVector<AffineExpr> outExprs;
    SmallVector<utils::IteratorType> iters;
    for (int64_t i = 0; i < rank; ++i) {
      iters.push_back(i == axis ? utils::IteratorType::reduction : utils::IteratorType::parallel);
      if (i == axis)
        continue;
      outShape.push_back(inType.getDimSize(i));
      outDims.push_back(inDims[i]);
      outExprs.push_back(getAffineDimExpr(i, ctx));
    }
    auto valType = RankedTensorType::get(outShape, inType.getElementType());
    auto idxType = RankedTensorType::get(outShape, rw.getI64Type());
    Value vals = filledTensor(rw, loc, valType, outDims, isMax ? lowestValue(rw, loc, orig) : highestValue(rw, loc, orig));
    Value idxs = filledTensor(rw, loc, idxType, outDims, constantScalar(rw, loc, rw.getI64Type(), 0));
    AffineMap outMap = AffineMap::get(rank, 0, outExprs, ctx);
    auto generic = linalg::GenericOp::create(
        rw, loc, TypeRange{valType, idxType}, ValueRange{x}, ValueRange{vals, idxs},
        SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(rank, ctx), outMap, outMap}, iters,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value v = a[0], best = a[1], bestIdx = a[2];
          Value i = toI64(b, l, linalg::IndexOp::create(b, l, axis));
          Value better;
          if (isa<FloatType>(v.getType())) {
            auto p = isMax ? (last ? arith::CmpFPredicate::OGE : arith::CmpFPredicate::OGT)
                           : (last ? arith::CmpFPredicate::OLE : arith::CmpFPredicate::OLT);
            better = arith::CmpFOp::create(b, l, p, v, best);
          } else {
            bool u = s.isUnsignedInt();
            auto p = isMax ? (last ? (u ? arith::CmpIPredicate::uge : arith::CmpIPredicate::sge)
                                   : (u ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::sgt))
                           : (last ? (u ? arith::CmpIPredicate::ule : arith::CmpIPredicate::sle)
                                   : (u ? arith::CmpIPredicate::ult : arith::CmpIPredicate::slt));
            better = arith::CmpIOp::create(b, l, p, v, best);
          }
          // The first element always wins, so an all -inf or NaN row gives 0.
          Value first = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, i, constantScalar(b, l, b.getI64Type(), 0));
          better = arith::OrIOp::create(b, l, better, first);
          linalg::YieldOp::create(b, l, ValueRange{select(b, l, better, v, best), select(b, l, better, i, bestIdx)});
        });
    Value r = generic.getResult(1);
    if (keepdims)
      r = insertUnitDims(rw, loc, r, {axis});
    replaceWithResult(rw, op, r);
    return success();
  };
}

} // namespace

void populateMathLowerings(LoweringTable &t, const LowerOptions &options) {
  populateElementwise(t, options);
  addReduction(t, "tern.reduce_sum", Reduce::Sum);
  addReduction(t, "tern.reduce_mean", Reduce::Mean);
  addReduction(t, "tern.reduce_max", Reduce::Max);
  addReduction(t, "tern.reduce_min", Reduce::Min);
  addReduction(t, "tern.reduce_prod", Reduce::Prod);
  addReduction(t, "tern.reduce_l1", Reduce::L1);
  addReduction(t, "tern.reduce_l2", Reduce::L2);
  addReduction(t, "tern.reduce_log_sum", Reduce::LogSum);
  addReduction(t, "tern.reduce_log_sum_exp", Reduce::LogSumExp);
  addReduction(t, "tern.reduce_sum_square", Reduce::SumSquare);
  addArgReduction(t, "tern.arg_max", true);
  addArgReduction(t, "tern.arg_min", false);
}

} // namespace tern::lowering
