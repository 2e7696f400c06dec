//===- Lowering.h - shared pieces of the tern to linalg lowering --------===//
//
// Each tern op lowers to linalg/tensor/arith/math on tensors. The lowerings
// live in one file per op category (LowerMath, LowerNN, LowerNormalization, LowerTensor,
// LowerQuant, LowerAttention, LowerWinograd, LowerPointwiseDepthwise) and register themselves in a table keyed by op name; the pass
// (TernToLinalg.cpp) turns the table into conversion patterns.
//
// Types: unsigned integer tensors (ui8...) become signless (i8...) because
// arith works on signless integers; a lowering reads the original op's types
// to know the signedness. Dynamic dims are taken from the operands at run
// time (tensor.dim), or from shape operands.
//
//===----------------------------------------------------------------------===//

#ifndef TERN_CONVERSION_LOWERING_H
#define TERN_CONVERSION_LOWERING_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/ADT/StringMap.h"
#include <functional>

namespace tern::lowering {

using namespace mlir;

/// Lowers `op`, whose operands were converted to `operands`, and replaces it
/// through `rw`. Returns failure after emitting an error at the op when the
/// op's form is not supported.
using LowerFn = std::function<LogicalResult(Operation *op, ValueRange operands,
                                            ConversionPatternRewriter &rw)>;
using LoweringTable = llvm::StringMap<LowerFn>;

/// What the lowerings may emit besides linalg on tensors.
struct LowerOptions {
  /// Dynamic operand dims not proven equal to a broadcast's result are
  /// compared at run time (a branch around a stretched copy); off for the
  /// GPU target, whose host code cannot run the copy (there they are taken
  /// to be equal, as before).
  bool broadcastAtRunTime = true;
};

void populateMathLowerings(LoweringTable &table, const LowerOptions &options);
void populateNNLowerings(LoweringTable &table);
void populateNormalizationLowerings(LoweringTable &table);
void populateTensorLowerings(LoweringTable &table, const LowerOptions &options);
void populateQuantLowerings(LoweringTable &table);
void populateAttentionLowerings(LoweringTable &table);
void populateWinogradLowerings(LoweringTable &table);
void populatePointwiseDepthwiseLowerings(LoweringTable &table);

//===-- types ------------------------------------------------------------===//

/// The signless type arith computes in (ui8 -> i8).
Type signless(Type elem);
RankedTensorType signlessTensor(Type tensorType);
Type elementTypeOf(Value v);
bool isUnsigned(Type origElem);
/// Converts one scalar between element types with ONNX Cast semantics;
/// `from` and `to` are the original (possibly unsigned) types.
Value convertScalar(OpBuilder &b, Location loc, Value v, Type from, Type to);
Value constantScalar(OpBuilder &b, Location loc, Type signlessElem, double value);
/// The largest/smallest value of a type (infinities for floats).
Value lowestValue(OpBuilder &b, Location loc, Type origElem);
Value highestValue(OpBuilder &b, Location loc, Type origElem);

//===-- shapes -----------------------------------------------------------===//

SmallVector<OpFoldResult> dimsOf(OpBuilder &b, Location loc, Value tensor);
Value dimValue(OpBuilder &b, Location loc, Value tensor, int64_t dim);
/// tensor.empty of `type` whose dynamic dims are `dims` (all dims given; the
/// static ones are ignored).
Value emptyTensor(OpBuilder &b, Location loc, RankedTensorType type, ArrayRef<OpFoldResult> dims);
/// The sizes of `type`, static but for the first, `first` (a batch's
/// images counted at run time).
SmallVector<OpFoldResult> sizesWithFirst(RankedTensorType type, OpFoldResult first);
/// tensor.empty filled with a value.
Value filledTensor(OpBuilder &b, Location loc, RankedTensorType type, ArrayRef<OpFoldResult> dims,
                   Value fill);
/// Result dims of numpy broadcasting the operands to `resultType`.
SmallVector<OpFoldResult> broadcastDims(OpBuilder &b, Location loc, ValueRange operands,
                                        RankedTensorType resultType);
/// The converted `operands` of the elementwise tern op `op` made safe to
/// read with broadcastMap's identity maps, and the result's dims in `dims`.
/// A dynamic operand dim is read as it is where tern's symbolic dims prove
/// it equal to the result's; elsewhere (Add of [n, 4] and [m, 4]) it is
/// checked at run time: equal, read as it is; else broadcast from index 0
/// (a dim of 1), copied out first. A dim neither equal nor 1 (an invalid
/// model) fails the run with an error naming the node (the run goes on,
/// reading index 0 of that operand, none of an empty one).
SmallVector<Value> broadcastAtRunTime(OpBuilder &b, Location loc, Operation *op, ValueRange operands,
                                      RankedTensorType resultType, SmallVectorImpl<OpFoldResult> &dims,
                                      const LowerOptions &options);
/// `v` (operand `operand` of `op`) with its dynamic dim `d` stretched to
/// `size` from index 0 unless it is `size` already (checked at run time; a
/// dim neither `size` nor 1 calls the runtime's check_failed hook: see
/// broadcastAtRunTime).
Value stretchAtRunTime(OpBuilder &b, Location loc, Value v, int64_t d, Value size, Operation *op, int64_t operand);
/// The map reading an operand of rank `rank` broadcast into `outRank` loops:
/// dims of static size 1 where the result's is not read index 0.
AffineMap broadcastMap(MLIRContext *ctx, RankedTensorType operand, ArrayRef<int64_t> outShape);
Value indexCast(OpBuilder &b, Location loc, Value v); // any int -> index
Value toI64(OpBuilder &b, Location loc, Value index);

/// Body builder of an elementwise computation: the scalars of the operands in
/// order, returning the result scalar.
using ScalarFn = std::function<Value(OpBuilder &b, Location loc, ValueRange args)>;

/// An elementwise linalg.generic with numpy broadcasting of `inputs` into a
/// tensor of `resultType` (already signless).
Value elementwise(OpBuilder &b, Location loc, ValueRange inputs, RankedTensorType resultType,
                  const ScalarFn &fn);

/// The same with the result's dims given.
Value elementwiseTo(OpBuilder &b, Location loc, ValueRange inputs, RankedTensorType resultType,
                    ArrayRef<OpFoldResult> dims, const ScalarFn &fn);
/// A linalg.generic over a new tensor of `resultType` with no inputs; the
/// body gets the loop indices (linalg.index) and returns the element.
Value generate(OpBuilder &b, Location loc, RankedTensorType resultType, ArrayRef<OpFoldResult> dims,
               ValueRange inputs, ArrayRef<AffineMap> inputMaps,
               const std::function<Value(OpBuilder &, Location, ValueRange idx, ValueRange args)> &fn);

/// Reduces `input` over `axes` (sorted, non-negative) with `combine`,
/// starting from `init`; the reduced dims are dropped, or kept as 1 when
/// `keepdims`.
Value reduce(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> axes, bool keepdims,
             Value init, const std::function<Value(OpBuilder &, Location, Value acc, Value x)> &combine);
/// The sum and the maximum (NaN propagated) over `axes`, kept as 1s.
Value reduceSumKeep(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> axes);
Value reduceMaxKeep(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> axes);

/// Inserts dims of size 1 at `axes` of the result (sorted positions in the
/// result) with tensor.expand_shape.
Value insertUnitDims(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> axes);
/// tensor.expand_shape, or tensor.reshape where a group has several
/// dynamic dims (which expand_shape's lowering does not handle).
Value expandShape(OpBuilder &b, Location loc, Value input, RankedTensorType type,
                  ArrayRef<ReassociationIndices> groups, ArrayRef<OpFoldResult> dims);
/// Reshapes through a 1-D collapse and an expand to `type` with `dims`.
Value reshapeTo(OpBuilder &b, Location loc, Value input, RankedTensorType type,
                ArrayRef<OpFoldResult> dims);

/// init + a * b summed over the reduction loops of `iters`: a contraction
/// generic (tern-vectorize-contractions turns the f32 and i32 ones into
/// kernels).
Value contract(OpBuilder &b, Location loc, Value a, Value bm, Value init, ArrayRef<AffineMap> maps,
               ArrayRef<utils::IteratorType> iters);
/// A static tensor of `type` whose element at each index is `src` read
/// through `map`: a broadcast (a bias into an accumulator) or a transpose.
Value readInto(OpBuilder &b, Location loc, Value src, RankedTensorType type, AffineMap map);
/// The same for a `type` with dynamic dims, sized `dims`.
Value readInto(OpBuilder &b, Location loc, Value src, RankedTensorType type, AffineMap map,
               ArrayRef<OpFoldResult> dims);

/// A depthwise convolution as one all-parallel op over `outType`'s loops,
/// no reduction loops: bias[c] plus the sum over taps t of taps[t] (read
/// through tapMaps[t]) times w[c, 0, tapOffsets[t]...], c the loop
/// `channel`; `finish` (an activation) applies to the sum. The bias is
/// optional and 1-D.
Value depthwiseTaps(OpBuilder &b, Location loc, ArrayRef<Value> taps, ArrayRef<AffineMap> tapMaps,
                    ArrayRef<SmallVector<int64_t>> tapOffsets, Value w, Value bias, unsigned channel,
                    RankedTensorType outType, ArrayRef<OpFoldResult> outDims,
                    function_ref<Value(OpBuilder &, Location, Value)> finish = nullptr);

/// A convolution's or pool's window, auto_pad resolved.
struct Window {
  SmallVector<int64_t> kernel, strides, dilations, padBegin, padEnd;
};
/// Reads the window attributes (kernel_shape, strides, pads, dilations,
/// auto_pad) of `op` over input `x` with window `kernel`.
FailureOr<Window> readWindow(Operation *op, RankedTensorType x, ArrayRef<int64_t> kernel);
/// Pads the spatial dims (2...) of `x` with `value`: `begin`/`end` per dim,
/// plus `extraEnd` (may be empty).
Value padSpatial(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> begin, ArrayRef<int64_t> end,
                 ArrayRef<int64_t> extraEnd, Value value);

/// Reads element `i` of a 1-D integer tensor as an index value.
Value extractIndex(OpBuilder &b, Location loc, Value tensor, int64_t i);

/// The number of elements over `axes` of `input`, as a scalar of `elem`
/// (the divisor of means).
Value elementCount(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> axes, Type elem);

/// Replaces `op`'s single result with `v`, cast to the result's (signless)
/// type where the lowering produced a more or less static one.
void replaceWithResult(ConversionPatternRewriter &rw, Operation *op, Value v);

/// Emits "cannot lower <op>: <why>" at the op and returns failure.
LogicalResult unsupported(Operation *op, const Twine &why);

} // namespace tern::lowering

#endif // TERN_CONVERSION_LOWERING_H
