//===- SymbolicDims.cpp - which dynamic dims are the same size -----------===//
//
// See SymbolicDims.h. The rules per op are the ones their lowering follows;
// an op missing here only means its dynamic dims get symbols of their own.
//
//===----------------------------------------------------------------------===//

#include "dialects/Tern/SymbolicDims.h"
#include "dialects/Tern/TernOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"
#include <limits>

using namespace mlir;
using namespace tern;

static constexpr int64_t kDyn = ShapedType::kDynamic;

namespace {

bool isDynamicDim(Value v, int64_t d) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && d >= 0 && d < t.getRank() && t.isDynamicDim(d);
}

/// Resolves symbols, each (value, dim) once per query: broadcasts ask for
/// every operand's symbol, and a chain of residual adds would otherwise
/// ask again and again.
class Resolver {
public:
  DimSymbol resolve(Value v, int64_t d) {
    if (!isDynamicDim(v, d))
      return {v, d};
    auto key = std::make_pair(v, d);
    if (auto it = memo.find(key); it != memo.end())
      return it->second;
    // A malformed (cyclic) graph or a very deep one ends the walk here.
    if (++depth > 2000) {
      --depth;
      return {v, d};
    }
    DimSymbol s = compute(v, d);
    --depth;
    memo[key] = s;
    return s;
  }

private:
  using Source = std::optional<std::pair<Value, int64_t>>;

  DimSymbol follow(Value v, int64_t d, Source next) {
    if (!next || !isDynamicDim(next->first, next->second))
      return {v, d};
    return resolve(next->first, next->second);
  }

  /// The symbol of a max over operands' dims `dims`: theirs when they all
  /// share one dim (uncapped if any is uncapped, else the largest cap).
  static std::optional<DimSymbol> maxOf(ArrayRef<DimSymbol> dims) {
    if (dims.empty())
      return std::nullopt;
    DimSymbol r = dims.front();
    for (const DimSymbol &s : dims.drop_front()) {
      if (s.value != r.value || s.dim != r.dim)
        return std::nullopt;
      if (s.bound == kDyn || r.bound == kDyn)
        r.bound = kDyn;
      else
        r.bound = std::max(r.bound, s.bound);
    }
    return r;
  }

  /// Result dim `d` of a broadcast of `operands` to rank `rank`.
  DimSymbol broadcast(Value v, int64_t d, ValueRange operands, int64_t rank, int64_t skipLast = 0) {
    SmallVector<DimSymbol> dims;
    for (Value o : operands) {
      auto t = dyn_cast<RankedTensorType>(o.getType());
      if (!t)
        continue;
      int64_t od = d - (rank - t.getRank());
      if (od >= 0 && od < t.getRank() - skipLast && t.isDynamicDim(od))
        dims.push_back(resolve(o, od));
    }
    return maxOf(dims).value_or(DimSymbol{v, d});
  }

  DimSymbol argument(BlockArgument arg, int64_t d) {
    auto f = dyn_cast_or_null<func::FuncOp>(arg.getOwner()->getParentOp());
    if (!f || arg.getOwner() != &f.getBody().front())
      return {arg, d};
    auto nameOf = [&](unsigned a, int64_t i) -> StringRef {
      auto names = f.getArgAttrOfType<ArrayAttr>(a, "tern.dim_names");
      if (!names || i >= (int64_t)names.size())
        return {};
      auto name = dyn_cast<StringAttr>(names[i]);
      return name ? name.getValue() : StringRef();
    };
    // The first argument's dim of this name, unless some input repeats the
    // name (the runtime checks a name across inputs, not within one).
    StringRef name = nameOf(arg.getArgNumber(), d);
    if (name.empty())
      return {arg, d};
    std::optional<DimSymbol> first;
    for (unsigned a = 0; a < f.getNumArguments(); ++a) {
      int64_t count = 0;
      auto type = dyn_cast<RankedTensorType>(f.getArgument(a).getType());
      for (int64_t i = 0; type && i < type.getRank(); ++i) {
        if (nameOf(a, i) != name)
          continue;
        if (++count > 1)
          return {arg, d};
        if (!first)
          first = DimSymbol{f.getArgument(a), i};
      }
    }
    if (!first || !isDynamicDim(first->value, first->dim))
      return {arg, d};
    return *first;
  }

  /// A Slice's dim `d`: the data's where it is not sliced or sliced whole;
  /// capped at the data's static size when it ends at a dynamic dim.
  DimSymbol slice(SliceOp op, int64_t d) {
    Value v = op.getResult();
    auto starts = getConstantInts(op.getStarts()), axes = getConstantInts(op.getAxes()),
         steps = getConstantInts(op.getSteps());
    std::optional<SmallVector<ShapeElement>> ends = getSymbolicShapeValues(op.getEnds());
    auto data = cast<RankedTensorType>(op.getData().getType());
    if (!starts || !axes || !steps || !ends || starts->size() != axes->size() ||
        ends->size() != axes->size() || steps->size() != axes->size())
      return {v, d};
    for (auto [i, axis] : llvm::enumerate(*axes)) {
      if ((axis < 0 ? axis + data.getRank() : axis) != d)
        continue;
      if ((*starts)[i] != 0 || (*steps)[i] != 1)
        return {v, d};
      const ShapeElement &end = (*ends)[i];
      if (!data.isDynamicDim(d)) {
        if (!end.symbol)
          return {v, d};
        DimSymbol s = *end.symbol;
        s.bound = s.bound == kDyn ? data.getDimSize(d) : std::min(s.bound, data.getDimSize(d));
        return s;
      }
      // All of a dynamic dim: an end past any size.
      if (end.value != kDyn && end.value >= std::numeric_limits<int32_t>::max())
        return resolve(op.getData(), d);
      return {v, d};
    }
    return resolve(op.getData(), d);
  }

  DimSymbol compute(Value v, int64_t d) {
    if (auto arg = dyn_cast<BlockArgument>(v))
      return argument(arg, d);
    Operation *op = v.getDefiningOp();
    if (!op || !isa<TernDialect>(op->getDialect()))
      return {v, d};
    int64_t rank = cast<RankedTensorType>(v.getType()).getRank();
    if (op->hasTrait<tern::OpTrait::Broadcasts>())
      return broadcast(v, d, op->getOperands(), rank);
    auto pair = [](Value x, int64_t i) -> Source { return std::make_pair(x, i); };
    return llvm::TypeSwitch<Operation *, DimSymbol>(op)
        // The shape of their first operand.
        .Case<LayerNormalizationOp, NormalizationOp, SoftmaxOp, LogSoftmaxOp, HardmaxOp, CastOp, ClipOp,
              BatchNormalizationOp, InstanceNormalizationOp, QuantizeLinearOp, DequantizeLinearOp, CumSumOp,
              TriluOp>(
            [&](Operation *op) {
              if (cast<RankedTensorType>(op->getOperand(0).getType()).getRank() != rank)
                return DimSymbol{v, d};
              return follow(v, d, pair(op->getOperand(0), d));
            })
        // Windows over [N, C, spatial...]: the batch is the input's.
        .Case<ConvOp, ConvTransposeOp, MaxPoolOp, AveragePoolOp, GlobalAveragePoolOp, GlobalMaxPoolOp,
              FusedConvOp, WinogradConvOp, PointwiseDepthwiseConvOp, QLinearConvOp, ConvIntegerOp>(
            [&](Operation *op) {
          return d == 0 ? follow(v, d, pair(op->getOperand(0), 0)) : DimSymbol{v, d};
        })
        .Case([&](MatMulOp op) {
          auto a = cast<RankedTensorType>(op.getA().getType()), b = cast<RankedTensorType>(op.getB().getType());
          if (a.getRank() < 2 || b.getRank() < 2)
            return DimSymbol{v, d};
          if (d == rank - 1)
            return follow(v, d, pair(op.getB(), b.getRank() - 1));
          if (d == rank - 2)
            return follow(v, d, pair(op.getA(), a.getRank() - 2));
          return broadcast(v, d, op->getOperands(), rank, /*skipLast=*/2);
        })
        .Case([&](FusedMatMulOp op) {
          // Rows (and batch) are the left operand's.
          auto a = cast<RankedTensorType>(op.getA().getType());
          int64_t od = d - (rank - a.getRank());
          if (d == rank - 1 || od < 0)
            return DimSymbol{v, d};
          return follow(v, d, pair(op.getA(), od));
        })
        .Case([&](TransposeOp op) { return follow(v, d, pair(op.getData(), op.getPerm()[d])); })
        .Case([&](UnsqueezeOp op) {
          // Result dims not inserted are the input's, in order.
          if (llvm::is_contained(op.getAxes(), d))
            return DimSymbol{v, d};
          int64_t before = llvm::count_if(op.getAxes(), [&](int64_t a) { return a < d; });
          return follow(v, d, pair(op.getData(), d - before));
        })
        .Case([&](SqueezeOp op) {
          int64_t inRank = cast<RankedTensorType>(op.getData().getType()).getRank();
          for (int64_t i = 0, r = 0; i < inRank; ++i) {
            if (llvm::is_contained(op.getAxes(), i))
              continue;
            if (r++ == d)
              return follow(v, d, pair(op.getData(), i));
          }
          return DimSymbol{v, d};
        })
        .Case([&](ReshapeOp op) {
          std::optional<SmallVector<ShapeElement>> shape = getSymbolicShapeValues(op.getShape());
          if (!shape || (int64_t)shape->size() != rank)
            return DimSymbol{v, d};
          const ShapeElement &e = (*shape)[d];
          if (e.value == 0 && !op.getAllowzero())
            return follow(v, d, pair(op.getData(), d));
          return e.symbol ? *e.symbol : DimSymbol{v, d};
        })
        .Case([&](GatherOp op) {
          int64_t dataRank = cast<RankedTensorType>(op.getData().getType()).getRank();
          int64_t idxRank = cast<RankedTensorType>(op.getIndices().getType()).getRank();
          int64_t axis = op.getAxis() < 0 ? op.getAxis() + dataRank : op.getAxis();
          if (d < axis)
            return follow(v, d, pair(op.getData(), d));
          if (d < axis + idxRank)
            return follow(v, d, pair(op.getIndices(), d - axis));
          return follow(v, d, pair(op.getData(), d - idxRank + 1));
        })
        .Case([&](ConcatOp op) {
          // Lowering takes the first operand's dims off the axis.
          int64_t axis = op.getAxis() < 0 ? op.getAxis() + rank : op.getAxis();
          if (d == axis)
            return DimSymbol{v, d};
          for (Value in : op.getInputs())
            if (isDynamicDim(in, d))
              return resolve(in, d);
          return DimSymbol{v, d};
        })
        .Case([&](SliceOp op) { return slice(op, d); })
        .Case([&](ExpandOp op) {
          // Numpy broadcasting of the input and the shape's elements.
          std::optional<SmallVector<ShapeElement>> shape = getSymbolicShapeValues(op.getShape());
          auto in = cast<RankedTensorType>(op.getInput().getType());
          if (!shape)
            return DimSymbol{v, d};
          SmallVector<DimSymbol> dims;
          int64_t si = d - (rank - (int64_t)shape->size()), xi = d - (rank - in.getRank());
          if (si >= 0 && (*shape)[si].value != 1) {
            if (!(*shape)[si].symbol)
              return DimSymbol{v, d};
            dims.push_back(*(*shape)[si].symbol);
          }
          if (xi >= 0 && in.isDynamicDim(xi))
            dims.push_back(resolve(op.getInput(), xi));
          return maxOf(dims).value_or(DimSymbol{v, d});
        })
        .Case([&](RangeOp op) {
          // 0, 1, ... up to a dim: as many as the dim.
          auto start = getConstantInts(op.getStart()), delta = getConstantInts(op.getDelta());
          std::optional<SmallVector<ShapeElement>> limit = getSymbolicShapeValues(op.getLimit());
          if (!start || !delta || !limit || start->size() != 1 || delta->size() != 1 || limit->size() != 1 ||
              (*start)[0] != 0 || (*delta)[0] != 1 || !(*limit)[0].symbol)
            return DimSymbol{v, d};
          return *(*limit)[0].symbol;
        })
        .Case([&](GatherNDOp op) {
          // indices.shape[:-1] + data.shape[batch_dims + indices.shape[-1]:].
          auto idx = cast<RankedTensorType>(op.getIndices().getType());
          if (idx.getRank() < 1 || idx.isDynamicDim(idx.getRank() - 1))
            return DimSymbol{v, d};
          if (d < idx.getRank() - 1)
            return follow(v, d, pair(op.getIndices(), d));
          return follow(v, d, pair(op.getData(), d - (idx.getRank() - 1) + op.getBatchDims() +
                                                     idx.getDimSize(idx.getRank() - 1)));
        })
        .Case([&](AttentionOp op) {
          // [B, H, S, Dv]: q's rows, v's columns.
          return follow(v, d, pair(d == rank - 1 ? op.getV() : op.getQ(), d));
        })
        .Default([&](Operation *) { return DimSymbol{v, d}; });
  }

  llvm::DenseMap<std::pair<Value, int64_t>, DimSymbol> memo;
  int depth = 0;
};

} // namespace

DimSymbol tern::canonicalDim(Value v, int64_t dim) { return Resolver().resolve(v, dim); }

LogicalResult tern::reshapeDims(Value input, ArrayRef<ShapeElement> requested, bool allowzero,
                                SmallVectorImpl<int64_t> &dims, std::string &error) {
  auto in = cast<RankedTensorType>(input.getType());
  // Both sides' sizes as a static factor times dynamic dims' symbols.
  int64_t inStatic = 1, knownStatic = 1;
  SmallVector<DimSymbol> inSymbols, knownSymbols;
  bool known = true;
  for (int64_t i = 0; i < in.getRank(); ++i) {
    if (in.isDynamicDim(i))
      inSymbols.push_back(canonicalDim(input, i));
    else
      inStatic *= in.getDimSize(i);
  }
  int64_t inferIndex = -1;
  dims.clear();
  for (auto [i, e] : llvm::enumerate(requested)) {
    int64_t idx = static_cast<int64_t>(i);
    if (e.value == 0 && !allowzero) {
      if (idx >= in.getRank()) {
        error = "reshape dim " + std::to_string(idx) + " is 0 (copy) but the input has rank " +
                std::to_string(in.getRank());
        return failure();
      }
      dims.push_back(in.getDimSize(idx));
      if (in.isDynamicDim(idx))
        knownSymbols.push_back(canonicalDim(input, idx));
      else
        knownStatic *= in.getDimSize(idx);
    } else if (e.value == -1) {
      if (inferIndex >= 0) {
        error = "reshape shape has more than one -1";
        return failure();
      }
      inferIndex = idx;
      dims.push_back(kDyn);
    } else if (e.value == kDyn) {
      dims.push_back(kDyn);
      if (e.symbol)
        knownSymbols.push_back(*e.symbol);
      else
        known = false;
    } else if (e.value < 0) {
      error = "reshape dim " + std::to_string(idx) + " is " + std::to_string(e.value);
      return failure();
    } else {
      dims.push_back(e.value);
      knownStatic *= e.value;
    }
  }
  if (!known)
    return success();
  // Cancel the symbols the two sides share.
  for (const DimSymbol &s : knownSymbols) {
    auto it = llvm::find(inSymbols, s);
    if (it == inSymbols.end())
      return success();
    inSymbols.erase(it);
  }
  if (inferIndex >= 0) {
    if (!inSymbols.empty())
      return success();
    if (knownStatic == 0 || inStatic % knownStatic != 0) {
      llvm::raw_string_ostream(error) << "cannot reshape " << in << " into a shape with " << knownStatic
                                      << " elements per -1";
      return failure();
    }
    dims[inferIndex] = inStatic / knownStatic;
  } else if (inSymbols.empty() && inStatic != knownStatic) {
    llvm::raw_string_ostream os(error);
    os << "cannot reshape " << in;
    if (in.hasStaticShape())
      os << " (" << inStatic << " elements) into " << knownStatic << " elements";
    else
      os << " into a shape its dims cannot fill (" << inStatic << " against " << knownStatic
         << " elements per unit of the dynamic dims)";
    return failure();
  }
  return success();
}

std::optional<SmallVector<int64_t>> tern::reshapeAsCopies(Value input, ArrayRef<ShapeElement> requested,
                                                          bool allowzero) {
  auto in = cast<RankedTensorType>(input.getType());
  SmallVector<int64_t> shape;
  for (auto [i, e] : llvm::enumerate(requested)) {
    int64_t idx = static_cast<int64_t>(i);
    if (e.value == 0 && allowzero)
      return std::nullopt;
    if (e.value != kDyn) {
      shape.push_back(e.value);
      continue;
    }
    if (!e.symbol || idx >= in.getRank() || !in.isDynamicDim(idx) || !(canonicalDim(input, idx) == *e.symbol))
      return std::nullopt;
    shape.push_back(0);
  }
  return shape;
}
