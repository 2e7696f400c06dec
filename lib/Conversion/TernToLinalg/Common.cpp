//===- Common.cpp - helpers the tern lowerings share ---------------------===//

#include "lib/Conversion/TernToLinalg/Lowering.h"
#include "dialects/Tern/TernOps.h"
#include "dialects/Tern/SymbolicDims.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

namespace tern::lowering {

Type signless(Type elem) {
  if (auto i = dyn_cast<IntegerType>(elem); i && !i.isSignless())
    return IntegerType::get(elem.getContext(), i.getWidth());
  return elem;
}

RankedTensorType signlessTensor(Type tensorType) {
  auto t = cast<RankedTensorType>(tensorType);
  return RankedTensorType::get(t.getShape(), signless(t.getElementType()));
}

Type elementTypeOf(Value v) { return cast<ShapedType>(v.getType()).getElementType(); }

bool isUnsigned(Type origElem) {
  auto i = dyn_cast<IntegerType>(origElem);
  return i && (i.isUnsigned() || i.getWidth() == 1);
}

Value constantScalar(OpBuilder &b, Location loc, Type elem, double value) {
  if (auto f = dyn_cast<FloatType>(elem))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(f, value));
  if (isa<IndexType>(elem))
    return arith::ConstantIndexOp::create(b, loc, static_cast<int64_t>(value));
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(elem, static_cast<int64_t>(value)));
}

static Value extremeValue(OpBuilder &b, Location loc, Type origElem, bool highest) {
  if (auto f = dyn_cast<FloatType>(origElem))
    return arith::ConstantOp::create(
        b, loc, b.getFloatAttr(f, APFloat::getInf(f.getFloatSemantics(), /*Negative=*/!highest)));
  auto i = cast<IntegerType>(origElem);
  unsigned w = i.getWidth();
  APInt v = isUnsigned(origElem) ? (highest ? APInt::getMaxValue(w) : APInt::getMinValue(w))
                                 : (highest ? APInt::getSignedMaxValue(w) : APInt::getSignedMinValue(w));
  return arith::ConstantOp::create(b, loc, IntegerAttr::get(signless(origElem), v));
}
Value lowestValue(OpBuilder &b, Location loc, Type origElem) {
  return extremeValue(b, loc, origElem, false);
}
Value highestValue(OpBuilder &b, Location loc, Type origElem) {
  return extremeValue(b, loc, origElem, true);
}

Value convertScalar(OpBuilder &b, Location loc, Value v, Type from, Type to) {
  if (from == to)
    return v;
  Type dst = signless(to);
  auto fromF = dyn_cast<FloatType>(from), toF = dyn_cast<FloatType>(to);
  auto fromI = dyn_cast<IntegerType>(from), toI = dyn_cast<IntegerType>(to);
  if (fromF && toF) {
    if (fromF.getWidth() < toF.getWidth())
      return arith::ExtFOp::create(b, loc, dst, v);
    if (fromF.getWidth() > toF.getWidth())
      return arith::TruncFOp::create(b, loc, dst, v);
    // bf16 <-> f16: through f32.
    Value wide = arith::ExtFOp::create(b, loc, b.getF32Type(), v);
    return arith::TruncFOp::create(b, loc, dst, wide);
  }
  if (fromI && toI) {
    if (toI.getWidth() == 1) {
      Value zero = constantScalar(b, loc, v.getType(), 0);
      return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, v, zero);
    }
    if (fromI.getWidth() < toI.getWidth())
      return isUnsigned(from) ? Value(arith::ExtUIOp::create(b, loc, dst, v))
                              : Value(arith::ExtSIOp::create(b, loc, dst, v));
    if (fromI.getWidth() > toI.getWidth())
      return arith::TruncIOp::create(b, loc, dst, v);
    return v; // same width, other signedness: same bits
  }
  if (fromI && toF)
    return isUnsigned(from) ? Value(arith::UIToFPOp::create(b, loc, dst, v))
                            : Value(arith::SIToFPOp::create(b, loc, dst, v));
  if (fromF && toI) {
    if (toI.getWidth() == 1) {
      Value zero = constantScalar(b, loc, v.getType(), 0);
      return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, v, zero);
    }
    // fptosi of an out-of-range value is poison in LLVM; convert through a
    // wider integer so small types wrap like C does on x86.
    if (toI.getWidth() < 32) {
      Value wide = arith::FPToSIOp::create(b, loc, b.getI64Type(), v);
      return arith::TruncIOp::create(b, loc, dst, wide);
    }
    return isUnsigned(to) ? Value(arith::FPToUIOp::create(b, loc, dst, v))
                          : Value(arith::FPToSIOp::create(b, loc, dst, v));
  }
  if (isa<IndexType>(from) || isa<IndexType>(to))
    return arith::IndexCastOp::create(b, loc, dst, v);
  llvm_unreachable("unsupported scalar conversion");
}

Value indexCast(OpBuilder &b, Location loc, Value v) {
  if (isa<IndexType>(v.getType()))
    return v;
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
}

Value toI64(OpBuilder &b, Location loc, Value index) {
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
}

Value dimValue(OpBuilder &b, Location loc, Value tensor, int64_t dim) {
  auto t = cast<RankedTensorType>(tensor.getType());
  if (!t.isDynamicDim(dim))
    return arith::ConstantIndexOp::create(b, loc, t.getDimSize(dim));
  return tensor::DimOp::create(b, loc, tensor, dim);
}

SmallVector<OpFoldResult> dimsOf(OpBuilder &b, Location loc, Value tensor) {
  auto t = cast<RankedTensorType>(tensor.getType());
  SmallVector<OpFoldResult> dims;
  for (int64_t i = 0; i < t.getRank(); ++i) {
    if (t.isDynamicDim(i))
      dims.push_back(tensor::DimOp::create(b, loc, tensor, i).getResult());
    else
      dims.push_back(b.getIndexAttr(t.getDimSize(i)));
  }
  return dims;
}

Value emptyTensor(OpBuilder &b, Location loc, RankedTensorType type, ArrayRef<OpFoldResult> dims) {
  SmallVector<Value> dynamic;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.isDynamicDim(i))
      dynamic.push_back(getValueOrCreateConstantIndexOp(b, loc, dims[i]));
  return tensor::EmptyOp::create(b, loc, type, dynamic);
}

SmallVector<OpFoldResult> sizesWithFirst(RankedTensorType type, OpFoldResult first) {
  SmallVector<OpFoldResult> dims = getAsIndexOpFoldResult(type.getContext(), type.getShape());
  dims[0] = first;
  return dims;
}

Value filledTensor(OpBuilder &b, Location loc, RankedTensorType type, ArrayRef<OpFoldResult> dims,
                   Value fill) {
  Value empty = emptyTensor(b, loc, type, dims);
  return linalg::FillOp::create(b, loc, ValueRange{fill}, ValueRange{empty}).getResult(0);
}

SmallVector<OpFoldResult> broadcastDims(OpBuilder &b, Location loc, ValueRange operands,
                                        RankedTensorType resultType) {
  int64_t rank = resultType.getRank();
  SmallVector<OpFoldResult> dims;
  for (int64_t i = 0; i < rank; ++i) {
    if (!resultType.isDynamicDim(i)) {
      dims.push_back(b.getIndexAttr(resultType.getDimSize(i)));
      continue;
    }
    // The largest of the operands' dims here: a dim of 1 broadcasts.
    Value best;
    for (Value v : operands) {
      auto t = cast<RankedTensorType>(v.getType());
      int64_t d = i - (rank - t.getRank());
      if (d < 0 || t.getDimSize(d) == 1)
        continue;
      Value size = dimValue(b, loc, v, d);
      best = best ? Value(arith::MaxUIOp::create(b, loc, best, size)) : size;
    }
    dims.push_back(best ? OpFoldResult(best) : OpFoldResult(b.getIndexAttr(1)));
  }
  return dims;
}

/// Registers a run-time check of `op`'s operand `operand`, dim `d`: its
/// index in the module's `tern.checks` (the library's table of what each
/// check tests, for the runtime's error).
static int64_t addCheck(Operation *op, int64_t operand, int64_t d) {
  auto module = op->getParentOfType<ModuleOp>();
  SmallVector<Attribute> checks;
  if (auto list = module->getAttrOfType<ArrayAttr>("tern.checks"))
    checks.assign(list.begin(), list.end());
  std::string what;
  llvm::raw_string_ostream os(what);
  if (auto name = dyn_cast<NameLoc>(op->getLoc()))
    os << "node '" << name.getName().str() << "' ";
  os << "(" << op->getName() << "): operand " << operand << " dim " << d;
  checks.push_back(StringAttr::get(op->getContext(), what));
  module->setAttr("tern.checks", ArrayAttr::get(op->getContext(), checks));
  return checks.size() - 1;
}

Value stretchAtRunTime(OpBuilder &b, Location loc, Value v, int64_t d, Value size, Operation *op, int64_t operand) {
  auto type = cast<RankedTensorType>(v.getType());
  Value have = dimValue(b, loc, v, d);
  // Sizes asked before the branch (what tern-to-linalg traces to inputs).
  SmallVector<OpFoldResult> dims = dimsOf(b, loc, v);
  dims[d] = size;
  Value same = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, have, size);
  auto ifSame = scf::IfOp::create(b, loc, TypeRange{type}, same, /*withElseRegion=*/true);
  OpBuilder then = ifSame.getThenBodyBuilder();
  scf::YieldOp::create(then, loc, v);
  // Else a copy reading index 0 along d, allocated in the branch (only
  // when it runs; tern-plan-memory frees it). An empty operand has no
  // index 0: then the copy is left unwritten (only an invalid model gets
  // there), never read outside the operand.
  OpBuilder other = ifSame.getElseBodyBuilder();
  // Neither the result's nor 1: the shapes do not broadcast (an invalid
  // model); the runtime's check_failed hook turns the run into an error.
  Value one = arith::ConstantIndexOp::create(other, loc, 1);
  Value mismatch = arith::CmpIOp::create(other, loc, arith::CmpIPredicate::ne, have, one);
  auto ifMismatch = scf::IfOp::create(other, loc, TypeRange{}, mismatch, /*withElseRegion=*/false);
  {
    OpBuilder fb = ifMismatch.getThenBodyBuilder();
    Value check = arith::ConstantIntOp::create(fb, loc, fb.getI64Type(), addCheck(op, operand, d));
    func::CallOp::create(fb, loc, "__tern_fail", TypeRange{},
                         ValueRange{check, toI64(fb, loc, have), toI64(fb, loc, size)});
  }
  Value isEmpty = arith::CmpIOp::create(other, loc, arith::CmpIPredicate::eq, have,
                                        arith::ConstantIndexOp::create(other, loc, 0));
  auto ifEmpty = scf::IfOp::create(other, loc, TypeRange{type}, isEmpty, /*withElseRegion=*/true);
  // Buffers of the branch: alloc_tensor, which CSE does not trade for an
  // equal tensor.empty outside (a buffer live elsewhere).
  auto fresh = [&](OpBuilder &fb) -> Value {
    SmallVector<Value> dynamic;
    for (int64_t i = 0; i < type.getRank(); ++i)
      if (type.isDynamicDim(i))
        dynamic.push_back(getValueOrCreateConstantIndexOp(fb, loc, dims[i]));
    return bufferization::AllocTensorOp::create(fb, loc, type, dynamic);
  };
  OpBuilder none = ifEmpty.getThenBodyBuilder();
  scf::YieldOp::create(none, loc, fresh(none));
  OpBuilder some = ifEmpty.getElseBodyBuilder();
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineExpr> read;
  for (int64_t i = 0; i < type.getRank(); ++i)
    read.push_back(i == d ? getAffineConstantExpr(0, ctx) : getAffineDimExpr(i, ctx));
  SmallVector<AffineMap> maps = {AffineMap::get(type.getRank(), 0, read, ctx),
                                 AffineMap::getMultiDimIdentityMap(type.getRank(), ctx)};
  SmallVector<utils::IteratorType> iters(type.getRank(), utils::IteratorType::parallel);
  auto copy = linalg::GenericOp::create(some, loc, TypeRange{type}, ValueRange{v}, ValueRange{fresh(some)}, maps, iters,
                                        [](OpBuilder &bb, Location l, ValueRange args) {
                                          linalg::YieldOp::create(bb, l, args[0]);
                                        });
  scf::YieldOp::create(some, loc, copy.getResult(0));
  scf::YieldOp::create(other, loc, ifEmpty.getResult(0));
  return ifSame.getResult(0);
}

SmallVector<Value> broadcastAtRunTime(OpBuilder &b, Location loc, Operation *op, ValueRange operands,
                                      RankedTensorType resultType, SmallVectorImpl<OpFoldResult> &dims,
                                      const LowerOptions &options) {
  int64_t rank = resultType.getRank();
  Value result = op->getResult(0);
  auto aligned = [&](Value v, int64_t i) { return i - (rank - cast<RankedTensorType>(v.getType()).getRank()); };
  // The result's dims: an operand's dim of the same symbol where there is
  // one (a dim later passes trace to an input), else the largest.
  dims.assign(rank, OpFoldResult());
  bool unmatched = false;
  for (int64_t i = 0; i < rank; ++i) {
    if (!resultType.isDynamicDim(i)) {
      dims[i] = b.getIndexAttr(resultType.getDimSize(i));
      continue;
    }
    DimSymbol want = canonicalDim(result, i);
    for (auto [k, v] : llvm::enumerate(operands)) {
      int64_t d = aligned(v, i);
      if (d >= 0 && cast<RankedTensorType>(v.getType()).isDynamicDim(d) &&
          canonicalDim(op->getOperand(k), d) == want) {
        dims[i] = dimValue(b, loc, v, d);
        break;
      }
    }
    unmatched |= !dims[i];
  }
  if (unmatched) {
    SmallVector<OpFoldResult> largest = broadcastDims(b, loc, operands, resultType);
    for (int64_t i = 0; i < rank; ++i)
      if (!dims[i])
        dims[i] = largest[i];
  }
  SmallVector<Value> safe(operands);
  if (!options.broadcastAtRunTime)
    return safe;
  for (auto [k, v] : llvm::enumerate(safe)) {
    auto type = cast<RankedTensorType>(v.getType());
    for (int64_t d = 0; d < type.getRank(); ++d) {
      int64_t i = d + (rank - type.getRank());
      if (!type.isDynamicDim(d) || (resultType.isDynamicDim(i) &&
                                    canonicalDim(op->getOperand(k), d) == canonicalDim(result, i)))
        continue;
      v = stretchAtRunTime(b, loc, v, d, getValueOrCreateConstantIndexOp(b, loc, dims[i]), op, k);
    }
  }
  return safe;
}

AffineMap broadcastMap(MLIRContext *ctx, RankedTensorType operand, ArrayRef<int64_t> outShape) {
  int64_t outRank = outShape.size(), rank = operand.getRank();
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t o = d + outRank - rank;
    if (operand.getDimSize(d) == 1 && outShape[o] != 1)
      exprs.push_back(getAffineConstantExpr(0, ctx));
    else
      exprs.push_back(getAffineDimExpr(o, ctx));
  }
  return AffineMap::get(outRank, 0, exprs, ctx);
}

Value elementwise(OpBuilder &b, Location loc, ValueRange inputs, RankedTensorType resultType,
                  const ScalarFn &fn) {
  return elementwiseTo(b, loc, inputs, resultType, broadcastDims(b, loc, inputs, resultType), fn);
}

Value elementwiseTo(OpBuilder &b, Location loc, ValueRange inputs, RankedTensorType resultType,
                    ArrayRef<OpFoldResult> dims, const ScalarFn &fn) {
  MLIRContext *ctx = b.getContext();
  Value init = emptyTensor(b, loc, resultType, dims);
  SmallVector<AffineMap> maps;
  for (Value v : inputs)
    maps.push_back(broadcastMap(ctx, cast<RankedTensorType>(v.getType()), resultType.getShape()));
  maps.push_back(AffineMap::getMultiDimIdentityMap(resultType.getRank(), ctx));
  SmallVector<utils::IteratorType> iters(resultType.getRank(), utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{resultType}, inputs, ValueRange{init}, maps, iters,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value r = fn(nb, nloc, args.drop_back());
        linalg::YieldOp::create(nb, nloc, r);
      });
  return generic.getResult(0);
}

Value generate(OpBuilder &b, Location loc, RankedTensorType resultType, ArrayRef<OpFoldResult> dims,
               ValueRange inputs, ArrayRef<AffineMap> inputMaps,
               const std::function<Value(OpBuilder &, Location, ValueRange, ValueRange)> &fn) {
  MLIRContext *ctx = b.getContext();
  int64_t rank = resultType.getRank();
  Value init = emptyTensor(b, loc, resultType, dims);
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  return linalg::GenericOp::create(b, loc, TypeRange{resultType}, inputs, ValueRange{init}, maps, iters,
                                   [&](OpBuilder &nb, Location l, ValueRange args) {
                                     SmallVector<Value> idx;
                                     for (int64_t i = 0; i < rank; ++i)
                                       idx.push_back(linalg::IndexOp::create(nb, l, i));
                                     linalg::YieldOp::create(nb, l, fn(nb, l, idx, args.drop_back()));
                                   })
      .getResult(0);
}

Value reduce(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> axes, bool keepdims,
             Value init, const std::function<Value(OpBuilder &, Location, Value, Value)> &combine) {
  MLIRContext *ctx = b.getContext();
  auto type = cast<RankedTensorType>(input.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> inDims = dimsOf(b, loc, input);
  SmallVector<int64_t> outShape;
  SmallVector<OpFoldResult> outDims;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iters;
  for (int64_t i = 0; i < rank; ++i) {
    bool reduced = llvm::is_contained(axes, i);
    iters.push_back(reduced ? utils::IteratorType::reduction : utils::IteratorType::parallel);
    if (reduced)
      continue;
    outShape.push_back(type.getDimSize(i));
    outDims.push_back(inDims[i]);
    outExprs.push_back(getAffineDimExpr(i, ctx));
  }
  auto outType = RankedTensorType::get(outShape, type.getElementType());
  Value acc = filledTensor(b, loc, outType, outDims, init);
  SmallVector<AffineMap> maps{AffineMap::getMultiDimIdentityMap(rank, ctx),
                              AffineMap::get(rank, 0, outExprs, ctx)};
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{outType}, ValueRange{input}, ValueRange{acc}, maps, iters,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        linalg::YieldOp::create(nb, nloc, combine(nb, nloc, args[1], args[0]));
      });
  Value result = generic.getResult(0);
  if (keepdims)
    result = insertUnitDims(b, loc, result, axes);
  return result;
}

Value insertUnitDims(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> axes) {
  if (axes.empty())
    return input;
  auto type = cast<RankedTensorType>(input.getType());
  int64_t outRank = type.getRank() + axes.size();
  SmallVector<int64_t> shape;
  SmallVector<OpFoldResult> inDims = dimsOf(b, loc, input), outDims;
  SmallVector<ReassociationIndices> groups;
  int64_t src = 0;
  for (int64_t i = 0; i < outRank; ++i) {
    bool unit = llvm::is_contained(axes, i);
    shape.push_back(unit ? 1 : type.getDimSize(src));
    outDims.push_back(unit ? OpFoldResult(b.getIndexAttr(1)) : inDims[src]);
    if (!unit) {
      if (groups.size() <= static_cast<size_t>(src))
        groups.emplace_back();
      groups[src].push_back(i);
      ++src;
    } else if (src < type.getRank()) {
      if (groups.size() <= static_cast<size_t>(src))
        groups.emplace_back();
      groups[src].push_back(i);
    } else if (!groups.empty()) {
      groups.back().push_back(i);
    }
  }
  auto outType = RankedTensorType::get(shape, type.getElementType());
  return tensor::ExpandShapeOp::create(b, loc, outType, input, groups, outDims);
}

Value reshapeTo(OpBuilder &b, Location loc, Value input, RankedTensorType type,
                ArrayRef<OpFoldResult> dims) {
  auto inType = cast<RankedTensorType>(input.getType());
  if (inType == type && !type.getNumDynamicDims())
    return input;
  // Static dims from the type; dynamic ones as folded as they can be.
  SmallVector<OpFoldResult> given(dims);
  for (int64_t i = 0; i < type.getRank(); ++i)
    given[i] = !type.isDynamicDim(i)           ? OpFoldResult(b.getIndexAttr(type.getDimSize(i)))
               : isa<Value>(given[i]) ? getAsOpFoldResult(cast<Value>(given[i]))
                                      : given[i];
  dims = given;
  // To 1-D.
  Value flat = input;
  int64_t total = inType.hasStaticShape() ? inType.getNumElements() : ShapedType::kDynamic;
  auto flatType = RankedTensorType::get({total}, inType.getElementType());
  if (inType.getRank() == 0) {
    flat = tensor::ExpandShapeOp::create(b, loc, flatType, input, ArrayRef<ReassociationIndices>{},
                                         ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
  } else if (inType.getRank() > 1) {
    ReassociationIndices all = llvm::to_vector(llvm::seq<int64_t>(0, inType.getRank()));
    flat = tensor::CollapseShapeOp::create(b, loc, flatType, input, ArrayRef<ReassociationIndices>{all});
  } else if (inType.getDimSize(0) != total) {
    flat = tensor::CastOp::create(b, loc, flatType, input);
  }
  if (type.getRank() == 0)
    return tensor::CollapseShapeOp::create(b, loc, type, flat, ArrayRef<ReassociationIndices>{});
  // A dynamic result dim needs a dynamic source.
  if (type.getNumDynamicDims() && cast<RankedTensorType>(flat.getType()).hasStaticShape())
    flat = tensor::CastOp::create(b, loc, RankedTensorType::get({ShapedType::kDynamic}, inType.getElementType()), flat);
  if (type.getRank() == 1) {
    if (type == flat.getType())
      return flat;
    return tensor::CastOp::create(b, loc, type, flat);
  }
  if (type.getNumDynamicDims() > 1) {
    // Several dynamic dims in one group: tensor.reshape with the dims as a
    // shape tensor (expand_shape's lowering does not handle this case).
    SmallVector<Value> shape;
    for (OpFoldResult d : dims)
      shape.push_back(getValueOrCreateConstantIndexOp(b, loc, d));
    auto shapeType = RankedTensorType::get({type.getRank()}, b.getIndexType());
    Value shapeTensor = tensor::FromElementsOp::create(b, loc, shapeType, shape);
    return tensor::ReshapeOp::create(b, loc, type, flat, shapeTensor);
  }
  ReassociationIndices all = llvm::to_vector(llvm::seq<int64_t>(0, type.getRank()));
  return tensor::ExpandShapeOp::create(b, loc, type, flat, ArrayRef<ReassociationIndices>{all}, dims);
}

Value expandShape(OpBuilder &b, Location loc, Value input, RankedTensorType type,
                  ArrayRef<ReassociationIndices> groups, ArrayRef<OpFoldResult> dims) {
  bool manyDynamic = llvm::any_of(groups, [&](const ReassociationIndices &g) {
    return llvm::count_if(g, [&](int64_t d) { return type.isDynamicDim(d); }) > 1;
  });
  if (!manyDynamic)
    return tensor::ExpandShapeOp::create(b, loc, type, input, groups, dims);
  // MLIR's expand_shape lowering fails on groups with several dynamic dims.
  SmallVector<Value> shape;
  for (OpFoldResult d : dims)
    shape.push_back(getValueOrCreateConstantIndexOp(b, loc, d));
  auto shapeType = RankedTensorType::get({type.getRank()}, b.getIndexType());
  Value shapeTensor = tensor::FromElementsOp::create(b, loc, shapeType, shape);
  return tensor::ReshapeOp::create(b, loc, type, input, shapeTensor);
}

Value elementCount(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> axes, Type elem) {
  Value n = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t a : axes)
    n = arith::MulIOp::create(b, loc, n, dimValue(b, loc, input, a));
  Value i = arith::IndexCastOp::create(b, loc, b.getI64Type(), n);
  if (isa<FloatType>(elem))
    return arith::SIToFPOp::create(b, loc, elem, i);
  if (elem.getIntOrFloatBitWidth() < 64)
    return arith::TruncIOp::create(b, loc, elem, i);
  return i;
}

void replaceWithResult(ConversionPatternRewriter &rw, Operation *op, Value v) {
  auto resultType = signlessTensor(op->getResult(0).getType());
  if (v.getType() != resultType)
    v = tensor::CastOp::create(rw, op->getLoc(), resultType, v);
  rw.replaceOp(op, v);
}

Value extractIndex(OpBuilder &b, Location loc, Value tensor, int64_t i) {
  Value idx = arith::ConstantIndexOp::create(b, loc, i);
  Value v = tensor::ExtractOp::create(b, loc, tensor, ValueRange{idx});
  return indexCast(b, loc, v);
}

LogicalResult unsupported(Operation *op, const Twine &why) {
  std::string node;
  if (auto name = dyn_cast<NameLoc>(op->getLoc()))
    node = "node '" + name.getName().str() + "': ";
  return op->emitError() << node << "cannot lower " << op->getName() << ": " << why;
}

Value reduceSumKeep(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> axes) {
  Type elem = elementTypeOf(x);
  return reduce(b, loc, x, axes, true, constantScalar(b, loc, elem, 0),
                [](OpBuilder &nb, Location l, Value acc, Value v) -> Value {
                  return isa<FloatType>(v.getType()) ? Value(arith::AddFOp::create(nb, l, acc, v))
                                                     : Value(arith::AddIOp::create(nb, l, acc, v));
                });
}
Value reduceMaxKeep(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> axes) {
  Type elem = elementTypeOf(x);
  return reduce(b, loc, x, axes, true, lowestValue(b, loc, elem),
                [](OpBuilder &nb, Location l, Value acc, Value v) -> Value {
                  return arith::MaximumFOp::create(nb, l, acc, v);
                });
}

} // namespace tern::lowering
