//===- TernBase.td - the tern dialect and its op base classes ------------===//
//
// The tern dialect holds tensor-level ops with ONNX semantics, one op per ONNX
// operator the importer accepts, plus the fused and low-bit ops that the graph
// passes produce. Every op infers its result types (dynamic dims included) and
// attribute defaults are resolved by the importer, so no pass needs to know the
// opset a model came from.
//
//===----------------------------------------------------------------------===//

#ifndef TERN_BASE_TD
#define TERN_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Tern_Dialect : Dialect {
  let name = "tern";
  let cppNamespace = "::tern";
  let summary = "Tensor ops with ONNX semantics, and the fused ops tern's passes make";
  let description = [{
    Values are ranked tensors. ONNX element types map to MLIR types as:
    float/float16/bfloat16/double -> f32/f16/bf16/f64, float8 types -> f8E4M3FN
    and friends, int8..int64 -> i8..i64 (signless means signed), uint8..uint64
    -> ui8..ui64, int4/uint4 -> i4/ui4, bool -> i1.

    Quantization parameters are explicit operands: a scale and a zero point
    whose shape says whether they are per-tensor (rank 0 or one element),
    per-axis (1-D, along `axis`) or block-wise (same rank as the data, with
    `block_size` elements per block along `axis`).
  }];
  let hasConstantMaterializer = 1;
  let extraClassDeclaration = [{
    void registerMathOps();
    void registerNNOps();
    void registerTensorOps();
    void registerQuantOps();
    void registerFusedOps();
  }];
}

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def Tern_Tensor : RankedTensorOf<[AnyType]>;
def Tern_FloatTensor : RankedTensorOf<[AnyFloat]>;
def Tern_BoolTensor : RankedTensorOf<[I1]>;
def Tern_IndexTensor : RankedTensorOf<[I32, I64]>;
def Tern_I64Tensor : RankedTensorOf<[I64]>;
def Tern_NumericTensor : RankedTensorOf<[AnyFloat, AnyInteger]>;
// The element types quantized values use.
def Tern_QuantElem : AnyTypeOf<[I<4>, UI<4>, I8, UI8, I16, UI16, I32,
                                F8E4M3FN, F8E4M3FNUZ, F8E5M2, F8E5M2FNUZ]>;
def Tern_QuantTensor : RankedTensorOf<[Tern_QuantElem]>;
def Tern_Int8Tensor : RankedTensorOf<[I8, UI8]>;
// tern-int16-activations' 16-bit activations besides ONNX's 8-bit ones.
def Tern_Int8Or16Tensor : RankedTensorOf<[I8, UI8, I16]>;
def Tern_AnyIntTensor : RankedTensorOf<[AnyInteger]>;

//===----------------------------------------------------------------------===//
// Op base classes
//===----------------------------------------------------------------------===//

// Shape inference through InferTypeOpInterface. Inferred and declared result
// types are compatible when element types match and every dim either matches
// or is dynamic on one side, so a pass may refine a type that inference left
// dynamic.
def Tern_InferTypes : InferTypeOpAdaptorBase<[{
  static bool isCompatibleReturnTypes(::mlir::TypeRange l, ::mlir::TypeRange r) {
    return ::tern::areCompatibleReturnTypes(l, r);
  }
}]>;

// The result's shape is the numpy broadcast of the operands' shapes
// (elementwise ops, Where): a result dim that is dynamic is each operand's
// dynamic dim aligned with it, which lowering takes to be equal.
def Tern_Broadcasts : NativeOpTrait<"Broadcasts"> {
  let cppNamespace = "::tern::OpTrait";
}

class Tern_Op<string mnemonic, list<Trait> traits = []>
    : Op<Tern_Dialect, mnemonic, !listconcat(traits, [Pure, Tern_InferTypes])>;

// The attributes every convolution and pooling op shares, one entry per
// spatial dim; the importer fills in the ONNX defaults (strides and dilations
// of 1, zero pads, kernel_shape from the weight).
defvar Tern_WindowAttrs = (ins DenseI64ArrayAttr:$kernel_shape, DenseI64ArrayAttr:$strides,
    DenseI64ArrayAttr:$pads, DenseI64ArrayAttr:$dilations,
    DefaultValuedStrAttr<StrAttr, "NOTSET">:$auto_pad);

#endif // TERN_BASE_TD
