//===- LowerQuant.cpp - quantization ops, as reference lowerings ----------===//
//
// Quantize/dequantize are elementwise generics whose scale and zero point
// are read per tensor, per axis or per block through the indexing maps.
//
// 8-bit integer matmuls and convolutions with constant weights (MatMulInteger,
// QLinearMatMul, ConvInteger, QLinearConv) become a product of the raw bytes
// as u8 x s8 summed in i32 (byteMatmul; a convolution gathers its windows
// into rows first, byteConv) with the zero points applied after the sum;
// tern-vectorize-contractions runs it on VNNI dot products where the target
// has them. Other integer matmuls subtract the zero points in i32 and build
// tern.matmul / tern.conv on i32, except int16 activations (no zero point)
// against constant 8-bit weights, which multiply 16-bit weights shifted by
// their zero points at compile time (wordMatmul). The QLinear ops requantize
// the i32 result.
//
// MatMulNBits with constant weights unpacks them at compile time, one
// value per byte plus a scale and offset per block, into a contraction that
// dequantizes each weight in its body (constantNBits); the kernel does that
// in registers, or, marked for int8 activations (accuracy_level 4), runs
// the product on 8-bit dot products. With run-time weights it unpacks a
// float matrix per run.
//
//===----------------------------------------------------------------------===//

#include "lib/Conversion/TernToLinalg/Lowering.h"
#include "passes/PatternUtils.h"
#include "dialects/Tern/TernOps.h"
#include "lib/Codegen/MatchContraction.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

namespace tern::lowering {
namespace {

/// The map reading a quantization parameter (per tensor, per axis or per
/// block along `axis`) for data of rank `rank`.
AffineMap paramMap(MLIRContext *ctx, Value param, int64_t rank, int64_t axis, int64_t block) {
  auto t = cast<RankedTensorType>(param.getType());
  if (t.getRank() == 0)
    return AffineMap::get(rank, 0, {}, ctx);
  if (t.getRank() == 1 && rank != 1 && block == 0) {
    if (t.getDimSize(0) == 1)
      return AffineMap::get(rank, 0, {getAffineConstantExpr(0, ctx)}, ctx);
    return AffineMap::get(rank, 0, {getAffineDimExpr(axis, ctx)}, ctx);
  }
  if (t.getRank() == 1 && block == 0)
    return AffineMap::get(rank, 0, {t.getDimSize(0) == 1 ? getAffineConstantExpr(0, ctx) : getAffineDimExpr(0, ctx)}, ctx);
  SmallVector<AffineExpr> e;
  for (int64_t d = 0; d < rank; ++d)
    e.push_back(d == axis && block > 0 ? getAffineDimExpr(d, ctx).floorDiv(block) : getAffineDimExpr(d, ctx));
  return AffineMap::get(rank, 0, e, ctx);
}

/// round-half-even(v) clamped into the integer type's range, as that type.
/// `integral`: v is a whole number already (round(x / s) plus an integer
/// zero point: the sum of two whole floats is one, rounded or not), so
/// the rounding is left out.
Value saturate(OpBuilder &b, Location loc, Value v, Type origInt, bool integral = false) {
  Type f = v.getType();
  auto it = cast<IntegerType>(origInt);
  unsigned w = it.getWidth();
  bool u = isUnsigned(origInt);
  double lo = u ? 0 : -std::ldexp(1.0, w - 1), hi = u ? std::ldexp(1.0, w) - 1 : std::ldexp(1.0, w - 1) - 1;
  Value r = integral ? v : math::RoundEvenOp::create(b, loc, v);
  r = arith::MaximumFOp::create(b, loc, r, constantScalar(b, loc, f, lo));
  r = arith::MinimumFOp::create(b, loc, r, constantScalar(b, loc, f, hi));
  // In range now: through i32 (not convertScalar's i64, which would halve
  // the lanes of the vectorized body).
  if (w < 32)
    return arith::TruncIOp::create(b, loc, signless(origInt), arith::FPToSIOp::create(b, loc, b.getI32Type(), r));
  return convertScalar(b, loc, r, f, origInt);
}

/// A generic over `x`'s shape reading x and the given parameters.
Value quantElementwise(OpBuilder &b, Location loc, Value x, ArrayRef<Value> params, int64_t axis, int64_t block,
                       RankedTensorType resultType, const ScalarFn &fn) {
  MLIRContext *ctx = b.getContext();
  int64_t rank = resultType.getRank();
  SmallVector<Value> inputs{x};
  SmallVector<AffineMap> maps{AffineMap::getMultiDimIdentityMap(rank, ctx)};
  for (Value p : params) {
    inputs.push_back(p);
    maps.push_back(paramMap(ctx, p, rank, axis, block));
  }
  return generate(b, loc, resultType, dimsOf(b, loc, x), inputs, maps,
                  [&](OpBuilder &nb, Location l, ValueRange, ValueRange a) { return fn(nb, l, a); });
}

LogicalResult lowerQuantize(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  auto q = cast<QuantizeLinearOp>(op);
  Location loc = op->getLoc();
  Type out = elementTypeOf(op->getResult(0));
  if (!isa<IntegerType>(out))
    return unsupported(op, "float8 outputs");
  Type zpType = q.getZeroPoint() ? elementTypeOf(q.getZeroPoint()) : out;
  SmallVector<Value> params{operands[1]};
  if (q.getZeroPoint())
    params.push_back(operands[2]);
  Value r = quantElementwise(rw, loc, operands[0], params, q.getAxis(), q.getBlockSize(),
                             signlessTensor(op->getResult(0).getType()), [&](OpBuilder &b, Location l, ValueRange a) {
                               Value x = a[0];
                               Value s = convertScalar(b, l, a[1], elementTypeOf(q.getScale()), x.getType());
                               Value v = math::RoundEvenOp::create(b, l, arith::DivFOp::create(b, l, x, s));
                               if (a.size() > 2)
                                 v = arith::AddFOp::create(b, l, v, convertScalar(b, l, a[2], zpType, x.getType()));
                               return saturate(b, l, v, out, /*integral=*/true);
                             });
  rw.replaceOp(op, r);
  return success();
}

LogicalResult lowerDequantize(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  auto dq = cast<DequantizeLinearOp>(op);
  Location loc = op->getLoc();
  Type in = elementTypeOf(dq.getInput());
  if (!isa<IntegerType>(in))
    return unsupported(op, "float8 inputs");
  Type zpType = dq.getZeroPoint() ? elementTypeOf(dq.getZeroPoint()) : in;
  SmallVector<Value> params{operands[1]};
  if (dq.getZeroPoint())
    params.push_back(operands[2]);
  auto resultType = signlessTensor(op->getResult(0).getType());
  Type f = resultType.getElementType();
  Value r = quantElementwise(rw, loc, operands[0], params, dq.getAxis(), dq.getBlockSize(), resultType,
                             [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                               Value x = convertScalar(b, l, a[0], in, f);
                               if (a.size() > 2)
                                 x = arith::SubFOp::create(b, l, x, convertScalar(b, l, a[2], zpType, f));
                               return arith::MulFOp::create(b, l, x, convertScalar(b, l, a[1], elementTypeOf(dq.getScale()), f));
                             });
  rw.replaceOp(op, r);
  return success();
}

LogicalResult lowerDynamicQuantize(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  Location loc = op->getLoc();
  Value x = operands[0];
  auto t = cast<RankedTensorType>(x.getType());
  Type f = t.getElementType(), u8 = IntegerType::get(rw.getContext(), 8, IntegerType::Unsigned);
  SmallVector<int64_t> all = llvm::to_vector(llvm::seq<int64_t>(0, t.getRank()));
  Value zero = constantScalar(rw, loc, f, 0);
  // The range always includes 0.
  Value lo = reduce(rw, loc, x, all, false, zero, [](OpBuilder &b, Location l, Value acc, Value v) -> Value {
    return arith::MinimumFOp::create(b, l, acc, v);
  });
  Value hi = reduce(rw, loc, x, all, false, zero, [](OpBuilder &b, Location l, Value acc, Value v) -> Value {
    return arith::MaximumFOp::create(b, l, acc, v);
  });
  auto scalarF = RankedTensorType::get({}, f);
  Value scale = elementwise(rw, loc, ValueRange{lo, hi}, scalarF, [](OpBuilder &b, Location l, ValueRange a) -> Value {
    Value range = arith::SubFOp::create(b, l, a[1], a[0]);
    return arith::DivFOp::create(b, l, range, constantScalar(b, l, range.getType(), 255));
  });
  auto scalarU8 = RankedTensorType::get({}, rw.getI8Type());
  Value zp = elementwise(rw, loc, ValueRange{lo, scale}, scalarU8, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
    Value v = arith::SubFOp::create(b, l, constantScalar(b, l, f, 0), arith::DivFOp::create(b, l, a[0], a[1]));
    return saturate(b, l, v, u8);
  });
  Value y = elementwise(rw, loc, ValueRange{x, scale, zp}, RankedTensorType::get(t.getShape(), rw.getI8Type()),
                        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                          Value v = math::RoundEvenOp::create(b, l, arith::DivFOp::create(b, l, a[0], a[1]));
                          v = arith::AddFOp::create(b, l, v, convertScalar(b, l, a[2], u8, f));
                          return saturate(b, l, v, u8, /*integral=*/true);
                        });
  rw.replaceOp(op, {y, scale, zp});
  return success();
}

/// x - zero_point in i32; `zpAxis` is the dim of x a 1-D zero point runs
/// along (it is reshaped to broadcast there).
/// The integer values of an integer constant, signed or not as `orig` says.
std::optional<std::vector<double>> constantInts(Value v, Type orig) {
  auto c = v ? v.getDefiningOp<arith::ConstantOp>() : arith::ConstantOp();
  if (!c || !isa<IntegerType>(getElementTypeOrSelf(c.getType())))
    return std::nullopt;
  return constantElements(c.getValue(), isUnsigned(orig));
}

/// x - zp in i32 computed at compile time when both are constants (a
/// quantized matmul's weights and their zero points), so no run converts
/// the weights and the matmul kernel can pack them.
std::optional<Value> constantShift(OpBuilder &b, Location loc, Value x, Type xOrig, Value zp, Type zpOrig,
                                   int64_t zpAxis) {
  std::optional<std::vector<double>> xs = constantInts(x, xOrig);
  if (!xs)
    return std::nullopt;
  auto t = cast<RankedTensorType>(x.getType());
  std::vector<double> zs{0};
  if (zp) {
    std::optional<std::vector<double>> z = constantInts(zp, zpOrig);
    if (!z)
      return std::nullopt;
    zs = *z;
  }
  // A per-axis zero point runs along zpAxis; a single one applies to all.
  int64_t inner = 1;
  for (int64_t d = zpAxis + 1; d < t.getRank(); ++d)
    inner *= t.getDimSize(d);
  if (zs.size() != 1 && (zpAxis < 0 || zpAxis >= t.getRank() || (int64_t)zs.size() != t.getDimSize(zpAxis)))
    return std::nullopt;
  std::vector<int32_t> out(xs->size());
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = (int32_t)((*xs)[i] - zs[zs.size() == 1 ? 0 : (i / inner) % zs.size()]);
  auto type = RankedTensorType::get(t.getShape(), b.getI32Type());
  ArrayRef<char> bytes(reinterpret_cast<const char *>(out.data()), out.size() * sizeof(int32_t));
  return arith::ConstantOp::create(b, loc, cast<TypedAttr>(constantAttr(type, bytes, "shifted"))).getResult();
}

Value shiftToI32(OpBuilder &b, Location loc, Value x, Type xOrig, Value zp, Type zpOrig, int64_t zpAxis) {
  if (std::optional<Value> folded = constantShift(b, loc, x, xOrig, zp, zpOrig, zpAxis))
    return *folded;
  auto t = cast<RankedTensorType>(x.getType());
  auto i32 = b.getI32Type();
  SmallVector<Value> ins{x};
  if (zp) {
    auto zt = cast<RankedTensorType>(zp.getType());
    if (zt.getRank() == 1 && zt.getDimSize(0) != 1 && zpAxis != t.getRank() - 1) {
      SmallVector<int64_t> units = llvm::to_vector(llvm::seq<int64_t>(1, t.getRank() - zpAxis));
      zp = insertUnitDims(b, loc, zp, units);
    }
    ins.push_back(zp);
  }
  return elementwise(b, loc, ins, RankedTensorType::get(t.getShape(), i32), [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
    Value v = convertScalar(nb, l, a[0], xOrig, i32);
    if (a.size() > 1)
      v = arith::SubIOp::create(nb, l, v, convertScalar(nb, l, a[1], zpOrig, i32));
    return v;
  });
}

Type origElem(Value v) { return v ? elementTypeOf(v) : Type(); }

/// i32 acc * (sa * sb / sy) + zy, saturated to the output type.
Value requantize(OpBuilder &b, Location loc, Value acc, ArrayRef<Value> scales, Value yScale, Value yZero,
                 Type yOrig, RankedTensorType resultType) {
  SmallVector<Value> ins{acc};
  ins.append(scales.begin(), scales.end());
  ins.push_back(yScale);
  ins.push_back(yZero);
  return elementwise(b, loc, ins, resultType, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
    Type f = nb.getF32Type();
    Value v = arith::SIToFPOp::create(nb, l, f, a[0]);
    for (size_t i = 1; i + 2 < a.size(); ++i)
      v = arith::MulFOp::create(nb, l, v, convertScalar(nb, l, a[i], a[i].getType(), f));
    v = arith::DivFOp::create(nb, l, v, convertScalar(nb, l, a[a.size() - 2], a[a.size() - 2].getType(), f));
    v = arith::AddFOp::create(nb, l, v, convertScalar(nb, l, a.back(), yOrig, f));
    return saturate(nb, l, v, yOrig);
  });
}

/// [C] -> [C, 1, ...] to broadcast along dim `axis` of a rank-`rank` result.
Value alongAxis(OpBuilder &b, Location loc, Value p, int64_t rank, int64_t axis) {
  auto t = cast<RankedTensorType>(p.getType());
  if (t.getRank() != 1 || t.getDimSize(0) == 1 || axis == rank - 1)
    return p;
  return insertUnitDims(b, loc, p, llvm::to_vector(llvm::seq<int64_t>(1, rank - axis)));
}

/// An i32 constant tensor of `values` (a blob when large).
Value i32Constant(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, ArrayRef<int32_t> values, StringRef name) {
  auto type = RankedTensorType::get(shape, b.getI32Type());
  ArrayRef<char> bytes(reinterpret_cast<const char *>(values.data()), values.size() * sizeof(int32_t));
  return arith::ConstantOp::create(b, loc, cast<TypedAttr>(constantAttr(type, bytes, name)));
}

/// A one-element zero point (rank 0, or [1]) as a rank-0 i32 tensor plus
/// `offset`; nothing when it has more elements.
std::optional<Value> scalarZeroPoint(OpBuilder &b, Location loc, Value zp, Type zpOrig, int64_t offset) {
  auto t = cast<RankedTensorType>(zp.getType());
  if (t.getNumElements() != 1 || !t.hasStaticShape())
    return std::nullopt;
  if (t.getRank() != 0)
    zp = tensor::CollapseShapeOp::create(b, loc, RankedTensorType::get({}, t.getElementType()), zp,
                                         ArrayRef<ReassociationIndices>{});
  auto i32 = b.getI32Type();
  return elementwise(b, loc, ValueRange{zp}, RankedTensorType::get({}, i32), [&](OpBuilder &nb, Location l, ValueRange a) {
    Value v = convertScalar(nb, l, a[0], zpOrig, i32);
    return offset ? Value(arith::AddIOp::create(nb, l, v, constantScalar(nb, l, i32, offset))) : v;
  });
}

/// `a` [..., k] as [m, k] (its leading dims collapsed).
Value asRows(OpBuilder &b, Location loc, Value a) {
  auto at = cast<RankedTensorType>(a.getType());
  int64_t r = at.getRank(), k = at.getDimSize(r - 1);
  if (r == 2)
    return a;
  int64_t m = 1;
  for (int64_t i = 0; i < r - 1; ++i)
    m = (m == ShapedType::kDynamic || at.isDynamicDim(i)) ? ShapedType::kDynamic : m * at.getDimSize(i);
  return tensor::CollapseShapeOp::create(b, loc, RankedTensorType::get({m, k}, at.getElementType()), a,
                                         ArrayRef<ReassociationIndices>{llvm::to_vector(llvm::seq<int64_t>(0, r - 1)), {r - 1}});
}

/// sum_k ext(a2[m, k]) * ext(bConst[k, n]) in i32 ([m, n]); A widened
/// unsigned or signed, B signed.
Value widenedProduct(OpBuilder &b, Location loc, Value a2, Value bConst, int64_t n, bool aUnsigned) {
  MLIRContext *ctx = b.getContext();
  Type i32 = b.getI32Type();
  AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx), d2 = getAffineDimExpr(2, ctx);
  auto accType = RankedTensorType::get({cast<RankedTensorType>(a2.getType()).getDimSize(0), n}, i32);
  Value init = filledTensor(b, loc, accType, {dimsOf(b, loc, a2)[0], b.getIndexAttr(n)}, constantScalar(b, loc, i32, 0));
  return linalg::GenericOp::create(
             b, loc, TypeRange{accType}, ValueRange{a2, bConst}, ValueRange{init},
             SmallVector<AffineMap>{AffineMap::get(3, 0, {d0, d2}, ctx), AffineMap::get(3, 0, {d2, d1}, ctx),
                                    AffineMap::get(3, 0, {d0, d1}, ctx)},
             SmallVector<utils::IteratorType>{utils::IteratorType::parallel, utils::IteratorType::parallel,
                                              utils::IteratorType::reduction},
             [aUnsigned](OpBuilder &nb, Location l, ValueRange v) {
               Value x = aUnsigned ? Value(arith::ExtUIOp::create(nb, l, nb.getI32Type(), v[0]))
                                   : Value(arith::ExtSIOp::create(nb, l, nb.getI32Type(), v[0]));
               Value y = arith::ExtSIOp::create(nb, l, nb.getI32Type(), v[1]);
               linalg::YieldOp::create(nb, l, arith::AddIOp::create(nb, l, v[2], arith::MulIOp::create(nb, l, x, y)).getResult());
             })
      .getResult(0);
}

/// The [m, n] i32 `result` of rows of `a` (dims `aDims`) back to a's
/// leading dims: `resultType`'s shape.
Value fromRows(OpBuilder &b, Location loc, Value result, ArrayRef<OpFoldResult> aDims, int64_t n,
               RankedTensorType resultType) {
  int64_t r = aDims.size();
  if (r == 2)
    return result;
  SmallVector<OpFoldResult> outDims(aDims.begin(), aDims.end() - 1);
  outDims.push_back(b.getIndexAttr(n));
  return expandShape(b, loc, result, RankedTensorType::get(resultType.getShape(), b.getI32Type()),
                     {llvm::to_vector(llvm::seq<int64_t>(0, r - 1)), {r - 1}}, outDims);
}

/// (A - za) x (B - zb) in i32 for 8-bit A [.., m, k] and a constant 8-bit
/// B [k, n], za one value, zb one or one per column (constant): the
/// products are taken as u8 x s8, what x86's VNNI dot products multiply,
/// and the zero points applied after the sum:
///
///   sum_k (a - za)(b - zb) = sum_k a' b' - za' colsum(b')[n]
///                            - zb'[n] (rowsum(a')[m] - k za')
///
/// with a' = a, or a + 128 for int8 A (its top bit flipped: the same bits
/// read as u8), b' = b, or b - 128 for uint8 B (at compile time), and the
/// zero points moved alike. colsum(b') is a compile-time constant and the
/// row sums of A are only computed when some zb' is not 0. Exact: every
/// term is an integer in i32, as ONNX's MatMulInteger is.
/// tern-vectorize-contractions turns the product into a kernel (packing B).
///
/// `bTransposed`: B is [n, k...] (convolution filters), its k dims flattened.
/// `aFlipped`: int8 A whose top bits the caller flipped already.
std::optional<Value> byteMatmul(OpBuilder &b, Location loc, Value a, Type aOrig, Value za, Type zaOrig, Value bm,
                                Type bOrig, Value zb, Type zbOrig, RankedTensorType resultType,
                                bool bTransposed = false, bool aFlipped = false) {
  auto at = cast<RankedTensorType>(a.getType()), bt = cast<RankedTensorType>(bm.getType());
  if (!aOrig.isInteger(8) || !bOrig.isInteger(8) || bt.getRank() < 2 || (!bTransposed && bt.getRank() != 2) ||
      !bt.hasStaticShape() || at.getRank() < 2 || at.isDynamicDim(at.getRank() - 1))
    return std::nullopt;
  int64_t n = bt.getDimSize(bTransposed ? 0 : 1), k = bt.getNumElements() / n;
  if (at.getDimSize(at.getRank() - 1) != k)
    return std::nullopt;
  bool aSigned = !isUnsigned(aOrig), bSigned = !isUnsigned(bOrig);
  std::optional<std::vector<double>> bs = constantInts(bm, bOrig);
  if (!bs)
    return std::nullopt;
  std::vector<double> zbs{0};
  if (zb) {
    std::optional<std::vector<double>> z = constantInts(zb, zbOrig);
    if (!z || (z->size() != 1 && (int64_t)z->size() != n))
      return std::nullopt;
    zbs = *z;
  }
  std::optional<Value> za32;
  if (za && !(za32 = scalarZeroPoint(b, loc, za, zaOrig, aSigned ? 128 : 0)))
    return std::nullopt;
  // B' (s8), its column sums and zero points, at compile time.
  int64_t bShift = bSigned ? 0 : 128;
  std::vector<int8_t> shifted(bs->size());
  std::vector<int32_t> colsum(n, 0), zbShifted(n);
  bool zbZero = true;
  for (int64_t kk = 0; kk < k; ++kk)
    for (int64_t j = 0; j < n; ++j) {
      int32_t v = (int32_t)(*bs)[bTransposed ? j * k + kk : kk * n + j] - bShift;
      shifted[kk * n + j] = (int8_t)v;
      colsum[j] += v;
    }
  for (int64_t j = 0; j < n; ++j) {
    zbShifted[j] = (int32_t)zbs[zbs.size() == 1 ? 0 : j] - bShift;
    zbZero &= zbShifted[j] == 0;
  }
  auto i8 = b.getI8Type(), i32 = b.getI32Type();
  auto bType = RankedTensorType::get({k, n}, i8);
  ArrayRef<char> bBytes(reinterpret_cast<const char *>(shifted.data()), shifted.size());
  Value bConst = arith::ConstantOp::create(b, loc, cast<TypedAttr>(constantAttr(bType, bBytes, "bytes")));
  // A as [m, k] u8.
  SmallVector<OpFoldResult> aDims = dimsOf(b, loc, a);
  Value a2 = asRows(b, loc, a);
  if (aSigned && !aFlipped)
    a2 = elementwise(b, loc, ValueRange{a2}, cast<RankedTensorType>(a2.getType()), [](OpBuilder &nb, Location l, ValueRange v) {
      return arith::XOrIOp::create(nb, l, v[0], constantScalar(nb, l, nb.getI8Type(), -128)).getResult();
    });
  MLIRContext *ctx = b.getContext();
  auto a2Type = cast<RankedTensorType>(a2.getType());
  SmallVector<OpFoldResult> mDims{dimsOf(b, loc, a2)[0], b.getIndexAttr(n)};
  auto accType = RankedTensorType::get({a2Type.getDimSize(0), n}, i32);
  AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx);
  // Row sums (before the product, so that its epilogue follows it).
  Value rowsum;
  if (!zbZero) {
    auto sumType = RankedTensorType::get({a2Type.getDimSize(0)}, i32);
    Value init = filledTensor(b, loc, sumType, {mDims[0]}, constantScalar(b, loc, i32, 0));
    rowsum = linalg::GenericOp::create(
                 b, loc, TypeRange{sumType}, ValueRange{a2}, ValueRange{init},
                 SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(2, ctx), AffineMap::get(2, 0, {d0}, ctx)},
                 SmallVector<utils::IteratorType>{utils::IteratorType::parallel, utils::IteratorType::reduction},
                 [](OpBuilder &nb, Location l, ValueRange v) {
                   Value x = arith::ExtUIOp::create(nb, l, nb.getI32Type(), v[0]);
                   linalg::YieldOp::create(nb, l, arith::AddIOp::create(nb, l, v[1], x).getResult());
                 })
                 .getResult(0);
  }
  Value acc = widenedProduct(b, loc, a2, bConst, n, /*aUnsigned=*/true);
  // The zero-point terms, elementwise on the accumulators.
  SmallVector<Value> ins{acc};
  SmallVector<AffineMap> maps{AffineMap::getMultiDimIdentityMap(2, ctx)};
  int zaAt = -1, colAt = -1, rowAt = -1, zbAt = -1;
  if (!za32 && aSigned) // no zero point: za' is 128 for int8 A
    za32 = i32Constant(b, loc, {}, {128}, "zero_point");
  if (za32) {
    zaAt = ins.size();
    ins.push_back(*za32);
    maps.push_back(AffineMap::get(2, 0, {}, ctx));
    colAt = ins.size();
    ins.push_back(i32Constant(b, loc, {n}, colsum, "column_sums"));
    maps.push_back(AffineMap::get(2, 0, {d1}, ctx));
  }
  if (rowsum) {
    rowAt = ins.size();
    ins.push_back(rowsum);
    maps.push_back(AffineMap::get(2, 0, {d0}, ctx));
    zbAt = ins.size();
    ins.push_back(i32Constant(b, loc, {n}, zbShifted, "zero_points"));
    maps.push_back(AffineMap::get(2, 0, {d1}, ctx));
  }
  Value result = acc;
  if (ins.size() > 1) {
    Value out = emptyTensor(b, loc, accType, mDims);
    maps.push_back(AffineMap::getMultiDimIdentityMap(2, ctx));
    result = linalg::GenericOp::create(
                 b, loc, TypeRange{accType}, ins, ValueRange{out}, maps,
                 SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
                 [&](OpBuilder &nb, Location l, ValueRange v) {
                   Value x = v[0];
                   if (zaAt >= 0)
                     x = arith::SubIOp::create(nb, l, x, arith::MulIOp::create(nb, l, v[zaAt], v[colAt]));
                   if (rowAt >= 0) {
                     // rowsum - k za'
                     Value rs = v[rowAt];
                     if (zaAt >= 0)
                       rs = arith::SubIOp::create(nb, l, rs, arith::MulIOp::create(nb, l, v[zaAt], constantScalar(nb, l, nb.getI32Type(), k)));
                     x = arith::SubIOp::create(nb, l, x, arith::MulIOp::create(nb, l, v[zbAt], rs));
                   }
                   linalg::YieldOp::create(nb, l, x);
                 })
                 .getResult(0);
  }
  return fromRows(b, loc, result, aDims, n, resultType);
}

/// int16 A (tern-int16-activations, no zero point) times constant 8-bit B:
/// sum_k a (b - zb) with b - zb an int16 constant [k, n] (at most 255 in
/// magnitude) computed at compile time, both widened to i32 in the body;
/// tern-vectorize-contractions packs B' as 16-bit pairs along k for
/// pmaddwd / vpdpwssd. The caller's choice of levels keeps the sums in i32.
std::optional<Value> wordMatmul(OpBuilder &b, Location loc, Value a, Value bm, Type bOrig, Value zb, Type zbOrig,
                                RankedTensorType resultType) {
  auto at = cast<RankedTensorType>(a.getType()), bt = cast<RankedTensorType>(bm.getType());
  if (!at.getElementType().isInteger(16) || !bOrig.isInteger(8) || bt.getRank() != 2 || !bt.hasStaticShape() ||
      at.getRank() < 2 || at.isDynamicDim(at.getRank() - 1) || at.getDimSize(at.getRank() - 1) != bt.getDimSize(0))
    return std::nullopt;
  int64_t k = bt.getDimSize(0), n = bt.getDimSize(1);
  std::optional<std::vector<double>> bs = constantInts(bm, bOrig), zbs = std::vector<double>{0};
  if (zb)
    zbs = constantInts(zb, zbOrig);
  if (!bs || !zbs || (zbs->size() != 1 && (int64_t)zbs->size() != n))
    return std::nullopt;
  std::vector<int16_t> shifted(bs->size());
  for (size_t i = 0; i < bs->size(); ++i)
    shifted[i] = (int16_t)((*bs)[i] - (*zbs)[zbs->size() == 1 ? 0 : i % n]);
  auto i16 = b.getI16Type();
  ArrayRef<char> bBytes(reinterpret_cast<const char *>(shifted.data()), shifted.size() * 2);
  Value bConst =
      arith::ConstantOp::create(b, loc, cast<TypedAttr>(constantAttr(RankedTensorType::get({k, n}, i16), bBytes, "words")));
  SmallVector<OpFoldResult> aDims = dimsOf(b, loc, a);
  Value acc = widenedProduct(b, loc, asRows(b, loc, a), bConst, n, /*aUnsigned=*/false);
  return fromRows(b, loc, acc, aDims, n, resultType);
}

/// An 8-bit convolution with constant filters (one image, one group) as
/// a byteMatmul over channels-last patches: the input moved to [1,
/// spatial..., c] as bytes to multiply (int8's top bit flipped, as
/// byteMatmul would: one pass over the input, which fuses into its
/// producer, not one over the patches), padded with its zero point (so the
/// pads add nothing), then gathered into patches [positions, taps * c],
/// each position's window contiguous (what the kernels read along k), a
/// tap's channels a contiguous run of the input (copied as vectors; a
/// pointwise convolution with stride 1 reads the input as it is); times the
/// filters reordered to [F, taps * c] at compile time. The [positions, F]
/// result is transposed back to [1, F, o...].
std::optional<Value> byteConv(OpBuilder &b, Location loc, Operation *op, Value x, Type xOrig, Value zx, Type zxOrig,
                              Value w, Type wOrig, Value zw, Type zwOrig, RankedTensorType resultType) {
  auto xt = cast<RankedTensorType>(x.getType()), wt = cast<RankedTensorType>(w.getType());
  auto group = op->getAttrOfType<IntegerAttr>("group");
  // Any number of images (known or not), every other dim static.
  if ((group && group.getInt() != 1) || xt.getRank() < 3 || !patterns::staticPastFirstDim(xt) ||
      !wt.hasStaticShape() || !patterns::staticPastFirstDim(resultType) || !xOrig.isInteger(8) || !wOrig.isInteger(8) || !w.getDefiningOp<arith::ConstantOp>())
    return std::nullopt;
  if (zx && cast<RankedTensorType>(zx.getType()).getNumElements() != 1)
    return std::nullopt;
  MLIRContext *ctx = b.getContext();
  int64_t n = xt.getRank() - 2, c = xt.getDimSize(1), f = wt.getDimSize(0);
  SmallVector<int64_t> kernel(wt.getShape().drop_front(2));
  FailureOr<Window> win = readWindow(op, xt, kernel);
  std::optional<std::vector<double>> filters = constantInts(w, wOrig);
  if (failed(win) || !filters)
    return std::nullopt;
  int64_t taps = 1, hw = 1;
  for (int64_t k : kernel)
    taps *= k;
  for (int64_t i = 0; i < n; ++i)
    hw *= resultType.getDimSize(i + 2);
  // Several images: the positions of all of them are the product's rows
  // (an image loop first where the maps below have none for one image).
  int64_t batchSize = xt.getDimSize(0), first = batchSize != 1 ? 1 : 0;
  int64_t rowCount = ShapedType::isDynamic(batchSize) ? ShapedType::kDynamic : batchSize * hw;
  OpFoldResult batchDim = dimsOf(b, loc, x)[0];
  auto sized = [&](RankedTensorType t) {
    return first ? sizesWithFirst(t, batchDim) : getAsIndexOpFoldResult(ctx, t.getShape());
  };
  bool flip = !isUnsigned(xOrig);
  auto i8 = b.getI8Type();
  auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  // xl[i, s..., c] = x[i, c, s...] (^ 0x80).
  SmallVector<int64_t> lShape{batchSize};
  SmallVector<AffineExpr> toNCHW{d(0), d(n + 1)};
  for (int64_t i = 0; i < n; ++i) {
    lShape.push_back(xt.getDimSize(2 + i));
    toNCHW.push_back(d(1 + i));
  }
  lShape.push_back(c);
  auto lType = RankedTensorType::get(lShape, i8);
  Value xl = linalg::GenericOp::create(
                 b, loc, TypeRange{lType}, ValueRange{x}, ValueRange{emptyTensor(b, loc, lType, sized(lType))},
                 SmallVector<AffineMap>{AffineMap::get(n + 2, 0, toNCHW, ctx), AffineMap::getMultiDimIdentityMap(n + 2, ctx)},
                 SmallVector<utils::IteratorType>(n + 2, utils::IteratorType::parallel),
                 [&](OpBuilder &nb, Location l, ValueRange v) {
                   Value r = v[0];
                   if (flip)
                     r = arith::XOrIOp::create(nb, l, r, constantScalar(nb, l, nb.getI8Type(), -128));
                   linalg::YieldOp::create(nb, l, r);
                 })
                 .getResult(0);
  // Pads hold the zero point: (x - zx) is 0 there, as the float model's 0.
  Value pad = constantScalar(b, loc, i8, flip ? -128 : 0);
  if (zx) {
    auto zt = cast<RankedTensorType>(zx.getType());
    SmallVector<Value> idx(zt.getRank(), arith::ConstantIndexOp::create(b, loc, 0));
    pad = tensor::ExtractOp::create(b, loc, zx, idx);
    if (flip)
      pad = arith::XOrIOp::create(b, loc, pad, constantScalar(b, loc, i8, -128));
  }
  bool pointwise = true;
  SmallVector<OpFoldResult> lo{b.getIndexAttr(0)}, hi{b.getIndexAttr(0)};
  SmallVector<int64_t> padShape{batchSize};
  for (int64_t i = 0; i < n; ++i) {
    pointwise &= kernel[i] == 1 && win->strides[i] == 1 && !win->padBegin[i] && !win->padEnd[i];
    lo.push_back(b.getIndexAttr(win->padBegin[i]));
    hi.push_back(b.getIndexAttr(win->padEnd[i]));
    padShape.push_back(lShape[1 + i] + win->padBegin[i] + win->padEnd[i]);
  }
  lo.push_back(b.getIndexAttr(0));
  hi.push_back(b.getIndexAttr(0));
  padShape.push_back(c);
  // Dims of the output positions: (image,) o...
  SmallVector<int64_t> pShape;
  if (first)
    pShape.push_back(batchSize);
  for (int64_t i = 0; i < n; ++i)
    pShape.push_back(resultType.getDimSize(i + 2));
  ReassociationIndices rows = llvm::to_vector(llvm::seq<int64_t>(0, first + n));
  Value a;
  if (pointwise) {
    // [i, s..., c] -> [positions, c].
    SmallVector<ReassociationIndices> groups{llvm::to_vector(llvm::seq<int64_t>(0, n + 1)), {n + 1}};
    a = tensor::CollapseShapeOp::create(b, loc, RankedTensorType::get({rowCount, c}, i8), xl, groups);
  } else {
    Value padded = xl;
    if (llvm::any_of(llvm::concat<int64_t>(win->padBegin, win->padEnd), [](int64_t p) { return p != 0; }))
      padded = tensor::PadOp::create(b, loc, RankedTensorType::get(padShape, i8), xl, lo, hi, pad);
    // patches[(i,) o..., k..., c] = padded[i, o*s + k*d, c].
    auto pd = [&](int64_t i) { return getAffineDimExpr(first + i, ctx); };
    SmallVector<AffineExpr> xe{first ? d(0) : getAffineConstantExpr(0, ctx)};
    for (int64_t i = 0; i < n; ++i)
      xe.push_back(pd(i) * win->strides[i] + pd(n + i) * win->dilations[i]);
    xe.push_back(pd(2 * n));
    SmallVector<int64_t> patchShape = pShape;
    patchShape.append(kernel);
    patchShape.push_back(c);
    auto patchType = RankedTensorType::get(patchShape, i8);
    Value patches = readInto(b, loc, padded, patchType, AffineMap::get(first + 2 * n + 1, 0, xe, ctx), sized(patchType));
    ReassociationIndices cols = llvm::to_vector(llvm::seq<int64_t>(first + n, first + 2 * n + 1));
    a = tensor::CollapseShapeOp::create(b, loc, RankedTensorType::get({rowCount, taps * c}, i8), patches,
                                        SmallVector<ReassociationIndices>{rows, cols});
  }
  // Filters [F, c, taps] -> [F, taps, c], as bytes (byteMatmul reads them
  // back as wOrig).
  std::vector<int8_t> reordered(f * taps * c);
  for (int64_t o = 0; o < f; ++o)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t t = 0; t < taps; ++t)
        reordered[(o * taps + t) * c + ch] = (int8_t)(int32_t)(*filters)[(o * c + ch) * taps + t];
  ArrayRef<char> wBytes(reinterpret_cast<const char *>(reordered.data()), reordered.size());
  Value wl = arith::ConstantOp::create(
      b, loc, cast<TypedAttr>(constantAttr(RankedTensorType::get({f, taps * c}, i8), wBytes, "filters")));
  auto tType = RankedTensorType::get({rowCount, f}, b.getI32Type());
  std::optional<Value> t = byteMatmul(b, loc, a, xOrig, zx, zxOrig, wl, wOrig, zw, zwOrig, tType,
                                      /*bTransposed=*/true, /*aFlipped=*/true);
  if (!t)
    return std::nullopt;
  // [positions, F] -> [(i,) o..., F] -> [i, F, o...].
  SmallVector<int64_t> oShape = pShape;
  oShape.push_back(f);
  auto oType = RankedTensorType::get(oShape, b.getI32Type());
  Value o = tensor::ExpandShapeOp::create(b, loc, oType, *t, SmallVector<ReassociationIndices>{rows, {first + n}},
                                          sized(oType));
  SmallVector<AffineExpr> back;
  if (first)
    back.push_back(d(0));
  for (int64_t i = 0; i < n; ++i)
    back.push_back(d(2 + i));
  back.push_back(d(1));
  auto outType = RankedTensorType::get(resultType.getShape(), b.getI32Type());
  return readInto(b, loc, o, outType, AffineMap::get(n + 2, 0, back, ctx), sized(outType));
}

LogicalResult lowerMatMulInteger(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  auto mm = cast<MatMulIntegerOp>(op);
  Location loc = op->getLoc();
  int64_t aRank = cast<RankedTensorType>(operands[0].getType()).getRank();
  unsigned next = 2;
  Value za = mm.getAZeroPoint() ? operands[next++] : Value();
  Value zb = mm.getBZeroPoint() ? operands[next++] : Value();
  auto resultType = signlessTensor(op->getResult(0).getType());
  if (std::optional<Value> r = byteMatmul(rw, loc, operands[0], origElem(mm.getA()), za, origElem(mm.getAZeroPoint()),
                                          operands[1], origElem(mm.getB()), zb, origElem(mm.getBZeroPoint()), resultType)) {
    replaceWithResult(rw, op, *r);
    return success();
  }
  if (!za)
    if (std::optional<Value> r = wordMatmul(rw, loc, operands[0], operands[1], origElem(mm.getB()), zb,
                                            origElem(mm.getBZeroPoint()), resultType)) {
      replaceWithResult(rw, op, *r);
      return success();
    }
  Value a = shiftToI32(rw, loc, operands[0], origElem(mm.getA()), za, origElem(mm.getAZeroPoint()), aRank - 2);
  Value b = shiftToI32(rw, loc, operands[1], origElem(mm.getB()), zb, origElem(mm.getBZeroPoint()),
                       cast<RankedTensorType>(operands[1].getType()).getRank() - 1);
  rw.replaceOp(op, MatMulOp::create(rw, loc, signlessTensor(op->getResult(0).getType()), a, b).getResult());
  return success();
}

LogicalResult lowerQLinearMatMul(Operation *op, ValueRange o, ConversionPatternRewriter &rw) {
  auto mm = cast<QLinearMatMulOp>(op);
  Location loc = op->getLoc();
  auto resultType = signlessTensor(op->getResult(0).getType());
  int64_t aRank = cast<RankedTensorType>(o[0].getType()).getRank();
  auto accType = RankedTensorType::get(resultType.getShape(), rw.getI32Type());
  Value acc;
  if (std::optional<Value> r = byteMatmul(rw, loc, o[0], origElem(mm.getA()), o[2], origElem(mm.getAZeroPoint()), o[3],
                                          origElem(mm.getB()), o[5], origElem(mm.getBZeroPoint()), accType)) {
    acc = *r;
  } else {
    Value a = shiftToI32(rw, loc, o[0], origElem(mm.getA()), o[2], origElem(mm.getAZeroPoint()), aRank - 2);
    Value b = shiftToI32(rw, loc, o[3], origElem(mm.getB()), o[5], origElem(mm.getBZeroPoint()),
                         cast<RankedTensorType>(o[3].getType()).getRank() - 1);
    acc = MatMulOp::create(rw, loc, accType, a, b);
  }
  Value sa = alongAxis(rw, loc, o[1], resultType.getRank(), resultType.getRank() - 2);
  Value r = requantize(rw, loc, acc, {sa, o[4]}, o[6], o[7], origElem(mm.getYZeroPoint()), resultType);
  rw.replaceOp(op, r);
  return success();
}

SmallVector<NamedAttribute> windowAttrs(Operation *op) {
  SmallVector<NamedAttribute> attrs;
  for (StringRef name : {"kernel_shape", "strides", "pads", "dilations", "auto_pad", "group"})
    if (Attribute a = op->getAttr(name))
      attrs.push_back(NamedAttribute(StringAttr::get(op->getContext(), name), a));
  return attrs;
}

LogicalResult lowerConvInteger(Operation *op, ValueRange o, ConversionPatternRewriter &rw) {
  auto conv = cast<ConvIntegerOp>(op);
  Location loc = op->getLoc();
  unsigned next = 2;
  Value zx = conv.getXZeroPoint() ? o[next++] : Value();
  Value zw = conv.getWZeroPoint() ? o[next++] : Value();
  if (std::optional<Value> r = byteConv(rw, loc, op, o[0], origElem(conv.getX()), zx, origElem(conv.getXZeroPoint()), o[1],
                                        origElem(conv.getW()), zw, origElem(conv.getWZeroPoint()),
                                        signlessTensor(op->getResult(0).getType()))) {
    rw.replaceOp(op, *r);
    return success();
  }
  Value x = shiftToI32(rw, loc, o[0], origElem(conv.getX()), zx, origElem(conv.getXZeroPoint()), 1);
  Value w = shiftToI32(rw, loc, o[1], origElem(conv.getW()), zw, origElem(conv.getWZeroPoint()), 0);
  auto c = ConvOp::create(rw, loc, TypeRange{signlessTensor(op->getResult(0).getType())}, ValueRange{x, w},
                          windowAttrs(op));
  rw.replaceOp(op, c->getResults());
  return success();
}

LogicalResult lowerQLinearConv(Operation *op, ValueRange o, ConversionPatternRewriter &rw) {
  auto conv = cast<QLinearConvOp>(op);
  Location loc = op->getLoc();
  auto resultType = signlessTensor(op->getResult(0).getType());
  auto accType = RankedTensorType::get(resultType.getShape(), rw.getI32Type());
  int64_t rank = resultType.getRank();
  Value acc;
  if (std::optional<Value> r = byteConv(rw, loc, op, o[0], origElem(conv.getX()), o[2], origElem(conv.getXZeroPoint()),
                                        o[3], origElem(conv.getW()), o[5], origElem(conv.getWZeroPoint()), accType)) {
    acc = *r;
    if (conv.getBias())
      acc = elementwise(rw, loc, ValueRange{acc, alongAxis(rw, loc, o[8], rank, 1)}, accType,
                        [](OpBuilder &nb, Location l, ValueRange a) { return arith::AddIOp::create(nb, l, a[0], a[1]).getResult(); });
  } else {
    Value x = shiftToI32(rw, loc, o[0], origElem(conv.getX()), o[2], origElem(conv.getXZeroPoint()), 1);
    Value w = shiftToI32(rw, loc, o[3], origElem(conv.getW()), o[5], origElem(conv.getWZeroPoint()), 0);
    SmallVector<Value> ins{x, w};
    if (conv.getBias())
      ins.push_back(o[8]);
    acc = ConvOp::create(rw, loc, TypeRange{accType}, ins, windowAttrs(op))->getResult(0);
  }
  Value sw = alongAxis(rw, loc, o[4], rank, 1);
  Value r = requantize(rw, loc, acc, {o[1], sw}, o[6], o[7], origElem(conv.getYZeroPoint()), resultType);
  rw.replaceOp(op, r);
  return success();
}

/// MatMulNBits with constant weights, scales and zero points: the n-bit
/// values unpacked at compile time, one per byte, as Q [k, n], with the
/// scale S and offset Z = -zero * scale of each block as [blocks, n]; the
/// product is a contraction whose body dequantizes each weight as it is
/// read: out += a * (Q * S + Z). tern-vectorize-contractions packs Q, S
/// and Z into panels and dequantizes in registers: the weights stay bytes
/// (a quarter of f32) and no float weight matrix is ever written.
std::optional<Value> constantNBits(OpBuilder &b, Location loc, MatMulNBitsOp mm, Value a, Value packed, Value scales,
                                   Value zp, RankedTensorType resultType) {
  int64_t k = mm.getK(), n = mm.getN(), bits = mm.getBits(), bs = mm.getBlockSize();
  int64_t blocks = llvm::divideCeil(k, bs), perByte = 8 / bits, mask = (1 << bits) - 1;
  auto at = cast<RankedTensorType>(a.getType());
  if (mm.getGIdx() || at.getRank() < 2 || at.getDimSize(at.getRank() - 1) != k ||
      !resultType.getElementType().isF32() || bs <= 0)
    return std::nullopt;
  std::optional<std::vector<double>> q = constantInts(packed, IntegerType::get(b.getContext(), 8, IntegerType::Unsigned));
  auto sc = scales.getDefiningOp<arith::ConstantOp>();
  std::optional<std::vector<double>> sv = sc ? constantElements(sc.getValue(), false) : std::nullopt;
  std::optional<std::vector<double>> zv;
  bool zpFloat = false;
  if (zp) {
    auto zc = zp.getDefiningOp<arith::ConstantOp>();
    if (!zc)
      return std::nullopt;
    zpFloat = isa<FloatType>(elementTypeOf(mm.getZeroPoints()));
    zv = constantElements(zc.getValue(), !zpFloat);
    if (!zv)
      return std::nullopt;
  }
  int64_t bytesPerBlock = llvm::divideCeil(bs, perByte), zpBytes = llvm::divideCeil(blocks, perByte);
  if (!q || !sv || (int64_t)q->size() < n * blocks * bytesPerBlock || (int64_t)sv->size() < n * blocks ||
      (zv && (int64_t)zv->size() < (zpFloat ? n * blocks : n * zpBytes)))
    return std::nullopt;
  std::vector<uint8_t> values(k * n);
  std::vector<float> scale(blocks * n), offset(blocks * n);
  for (int64_t col = 0; col < n; ++col) {
    for (int64_t blk = 0; blk < blocks; ++blk) {
      double zero = 1 << (bits - 1);
      if (zv && zpFloat)
        zero = (*zv)[col * blocks + blk];
      else if (zv)
        zero = ((int64_t)(*zv)[col * zpBytes + blk / perByte] >> ((blk % perByte) * bits)) & mask;
      float s = (float)(*sv)[col * blocks + blk];
      scale[blk * n + col] = s;
      offset[blk * n + col] = (float)(-zero * s);
    }
    for (int64_t kk = 0; kk < k; ++kk) {
      int64_t blk = kk / bs, within = kk % bs;
      int64_t byte = (int64_t)(*q)[(col * blocks + blk) * bytesPerBlock + within / perByte];
      values[kk * n + col] = (uint8_t)((byte >> ((within % perByte) * bits)) & mask);
    }
  }
  MLIRContext *ctx = b.getContext();
  auto blob = [&](RankedTensorType type, const void *data, size_t size, StringRef name) -> Value {
    ArrayRef<char> bytes(static_cast<const char *>(data), size);
    return arith::ConstantOp::create(b, loc, cast<TypedAttr>(constantAttr(type, bytes, name)));
  };
  Value qc = blob(RankedTensorType::get({k, n}, b.getI8Type()), values.data(), values.size(), "nbits_values");
  Value scaleC = blob(RankedTensorType::get({blocks, n}, b.getF32Type()), scale.data(), scale.size() * 4, "nbits_scales");
  Value offsetC = blob(RankedTensorType::get({blocks, n}, b.getF32Type()), offset.data(), offset.size() * 4, "nbits_offsets");
  // A as [m, k].
  int64_t r = at.getRank();
  Value a2 = a;
  SmallVector<OpFoldResult> aDims = dimsOf(b, loc, a);
  if (r > 2) {
    int64_t m = 1;
    for (int64_t i = 0; i < r - 1; ++i)
      m = (m == ShapedType::kDynamic || at.isDynamicDim(i)) ? ShapedType::kDynamic : m * at.getDimSize(i);
    a2 = tensor::CollapseShapeOp::create(b, loc, RankedTensorType::get({m, k}, at.getElementType()), a,
                                         ArrayRef<ReassociationIndices>{llvm::to_vector(llvm::seq<int64_t>(0, r - 1)), {r - 1}});
  }
  Type f = b.getF32Type();
  auto accType = RankedTensorType::get({cast<RankedTensorType>(a2.getType()).getDimSize(0), n}, f);
  SmallVector<OpFoldResult> accDims{dimsOf(b, loc, a2)[0], b.getIndexAttr(n)};
  Value init = filledTensor(b, loc, accType, accDims, constantScalar(b, loc, f, 0));
  AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx), d2 = getAffineDimExpr(2, ctx);
  AffineMap blockMap = AffineMap::get(3, 0, {d2.floorDiv(bs), d1}, ctx);
  auto product = linalg::GenericOp::create(
                  b, loc, TypeRange{accType}, ValueRange{a2, qc, scaleC, offsetC}, ValueRange{init},
                  SmallVector<AffineMap>{AffineMap::get(3, 0, {d0, d2}, ctx), AffineMap::get(3, 0, {d2, d1}, ctx),
                                         blockMap, blockMap, AffineMap::get(3, 0, {d0, d1}, ctx)},
                  SmallVector<utils::IteratorType>{utils::IteratorType::parallel, utils::IteratorType::parallel,
                                                   utils::IteratorType::reduction},
                  [](OpBuilder &nb, Location l, ValueRange v) {
                    Value w = arith::UIToFPOp::create(nb, l, nb.getF32Type(), v[1]);
                    w = arith::AddFOp::create(nb, l, arith::MulFOp::create(nb, l, w, v[2]), v[3]);
                    Value p = arith::MulFOp::create(nb, l, v[0], w);
                    linalg::YieldOp::create(nb, l, arith::AddFOp::create(nb, l, v[4], p).getResult());
                  });
  // accuracy_level 4 (int8): the kernel may quantize A to int8 per block
  // and multiply on the 8-bit dot-product units.
  if (mm.getAccuracyLevel() == 4)
    product->setAttr(tern::kInt8ActivationsAttr, b.getUnitAttr());
  Value acc = product.getResult(0);
  if (r == 2)
    return acc;
  SmallVector<OpFoldResult> outDims(aDims.begin(), aDims.end() - 1);
  outDims.push_back(b.getIndexAttr(n));
  return expandShape(b, loc, acc, resultType, {llvm::to_vector(llvm::seq<int64_t>(0, r - 1)), {r - 1}}, outDims);
}

LogicalResult lowerMatMulNBits(Operation *op, ValueRange o, ConversionPatternRewriter &rw) {
  auto mm = cast<MatMulNBitsOp>(op);
  Location loc = op->getLoc();
  if (mm.getGIdx())
    return unsupported(op, "g_idx");
  int64_t k = mm.getK(), n = mm.getN(), bits = mm.getBits(), bs = mm.getBlockSize();
  if (bits != 4 && bits != 8 && bits != 2)
    return unsupported(op, "bits must be 2, 4 or 8");
  int64_t blocks = llvm::divideCeil(k, bs), perByte = 8 / bits;
  auto resultType = signlessTensor(op->getResult(0).getType());
  Type f = resultType.getElementType();
  unsigned next = 3;
  Value zp = mm.getZeroPoints() ? o[next++] : Value();
  Value bias = mm.getBias() ? o[next + (mm.getGIdx() ? 1 : 0)] : Value();
  Value packed = o[1], scales = o[2];
  if (std::optional<Value> y = constantNBits(rw, loc, mm, o[0], packed, scales, zp, resultType)) {
    Value r = *y;
    if (bias)
      r = AddOp::create(rw, loc, resultType, r, bias);
    rw.replaceOp(op, r);
    return success();
  }
  auto scalesType = cast<RankedTensorType>(scales.getType());
  Type zpOrig = origElem(mm.getZeroPoints());
  auto wType = RankedTensorType::get({k, n}, f);
  // W[kk, nn] = (q - zero) * scale of block kk / bs of column nn.
  Value w = generate(rw, loc, wType, getAsIndexOpFoldResult(rw.getContext(), {k, n}), {}, {},
                     [&](OpBuilder &b, Location l, ValueRange iv, ValueRange) -> Value {
                       Value kk = iv[0], nn = iv[1];
                       auto c = [&](int64_t v) { return arith::ConstantIndexOp::create(b, l, v).getResult(); };
                       Value blk = arith::DivUIOp::create(b, l, kk, c(bs));
                       Value within = arith::RemUIOp::create(b, l, kk, c(bs));
                       Value byteIdx = arith::DivUIOp::create(b, l, within, c(perByte));
                       Value sub = arith::RemUIOp::create(b, l, within, c(perByte));
                       Value byte = tensor::ExtractOp::create(b, l, packed, ValueRange{nn, blk, byteIdx});
                       auto unpack = [&](Value by, Value slot) -> Value {
                         Value shift = arith::IndexCastOp::create(b, l, b.getI8Type(), arith::MulIOp::create(b, l, slot, c(bits)));
                         Value v = arith::ShRUIOp::create(b, l, by, shift);
                         v = arith::AndIOp::create(b, l, v, constantScalar(b, l, b.getI8Type(), (1 << bits) - 1));
                         return arith::UIToFPOp::create(b, l, f, v);
                       };
                       Value q = unpack(byte, sub);
                       Value sIdx = arith::AddIOp::create(b, l, arith::MulIOp::create(b, l, nn, c(blocks)), blk);
                       Value scale = scalesType.getRank() == 1
                                         ? tensor::ExtractOp::create(b, l, scales, ValueRange{sIdx}).getResult()
                                         : tensor::ExtractOp::create(b, l, scales, ValueRange{nn, blk}).getResult();
                       Value zero;
                       if (!zp) {
                         zero = constantScalar(b, l, f, 1 << (bits - 1));
                       } else if (isa<FloatType>(zpOrig)) {
                         auto zt = cast<RankedTensorType>(zp.getType());
                         zero = zt.getRank() == 1 ? tensor::ExtractOp::create(b, l, zp, ValueRange{sIdx}).getResult()
                                                  : tensor::ExtractOp::create(b, l, zp, ValueRange{nn, blk}).getResult();
                         zero = convertScalar(b, l, zero, zpOrig, f);
                       } else {
                         // Packed like the weights: blocks of a column side by side.
                         int64_t zpBytes = llvm::divideCeil(blocks, perByte);
                         Value zb = arith::AddIOp::create(b, l, arith::MulIOp::create(b, l, nn, c(zpBytes)),
                                                          arith::DivUIOp::create(b, l, blk, c(perByte)));
                         auto zt = cast<RankedTensorType>(zp.getType());
                         Value zbyte;
                         if (zt.getRank() == 1) {
                           zbyte = tensor::ExtractOp::create(b, l, zp, ValueRange{zb});
                         } else {
                           Value col = arith::DivUIOp::create(b, l, blk, c(perByte));
                           zbyte = tensor::ExtractOp::create(b, l, zp, ValueRange{nn, col});
                         }
                         zero = unpack(zbyte, arith::RemUIOp::create(b, l, blk, c(perByte)));
                       }
                       return arith::MulFOp::create(b, l, arith::SubFOp::create(b, l, q, zero),
                                                    convertScalar(b, l, scale, scale.getType(), f));
                     });
  Value y = MatMulOp::create(rw, loc, resultType, o[0], w);
  if (bias)
    y = AddOp::create(rw, loc, resultType, y, bias);
  rw.replaceOp(op, y);
  return success();
}

} // namespace

void populateQuantLowerings(LoweringTable &t) {
  t["tern.quantize_linear"] = lowerQuantize;
  t["tern.dequantize_linear"] = lowerDequantize;
  t["tern.dynamic_quantize_linear"] = lowerDynamicQuantize;
  t["tern.matmul_integer"] = lowerMatMulInteger;
  t["tern.qlinear_matmul"] = lowerQLinearMatMul;
  t["tern.conv_integer"] = lowerConvInteger;
  t["tern.qlinear_conv"] = lowerQLinearConv;
  t["tern.matmul_nbits"] = lowerMatMulNBits;
}

} // namespace tern::lowering
