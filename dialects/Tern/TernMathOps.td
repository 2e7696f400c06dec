//===- TernMathOps.td - elementwise, comparison and reduction ops --------===//

#ifndef TERN_MATH_OPS_TD
#define TERN_MATH_OPS_TD

include "dialects/Tern/TernBase.td"

// The C++ both elementwise classes share: numpy broadcasting over the
// operands, the result element type picked by `rule`, and constant folding of
// small tensors (the shape arithmetic exporters emit).
class Tern_ElementwiseImpl<string rule> {
  code impl = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(::mlir::MLIRContext *,
        std::optional<::mlir::Location> loc, Adaptor adaptor,
        ::llvm::SmallVectorImpl<::mlir::Type> &types) {
      return ::tern::inferElementwise(loc, adaptor.getOperands(),
                                      ::tern::ElementRule::}] # rule # [{, types);
    }
    ::mlir::OpFoldResult $cppClass::fold(FoldAdaptor adaptor) {
      return ::tern::foldElementwise(getOperation(), adaptor.getOperands());
    }
  }];
}

class Tern_UnaryOp<string mnemonic, string onnx, string what,
                   Type operandType = Tern_NumericTensor,
                   dag attrs = (ins), list<Trait> traits = []>
    : Tern_Op<mnemonic, !listconcat(traits, [Tern_Broadcasts])> {
  let summary = "ONNX " # onnx # ": " # what;
  let description = "Applies ONNX `" # onnx # "` to each element; the result has the operand's type "
    # "(shape, dynamic dims and element type).\n\nExample:\n\n```mlir\n"
    # "%y = tern." # mnemonic # " %x : (tensor<2x?xf32>) -> tensor<2x?xf32>\n```";
  let arguments = !con((ins operandType:$input), attrs);
  let results = (outs operandType:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
  let extraClassDefinition = Tern_ElementwiseImpl<"SameAsOperands">.impl;
}

// Binary ops with numpy (multidirectional) broadcasting.
class Tern_BinaryOp<string mnemonic, string onnx, string what,
                    Type operandType = Tern_NumericTensor,
                    Type resultType = operandType, string rule = "SameAsOperands",
                    dag attrs = (ins), list<Trait> traits = []>
    : Tern_Op<mnemonic, !listconcat(traits, [Tern_Broadcasts])> {
  let summary = "ONNX " # onnx # ": " # what;
  let description = "Elementwise `" # onnx # "` with numpy broadcasting: shapes are aligned "
    # "at the right, a dim of 1 stretches, a dynamic dim stays dynamic unless the other side "
    # "is static and not 1.\n\nExample:\n\n```mlir\n"
    # "%z = tern." # mnemonic # " %x, %y : (tensor<?x1x8xf32>, tensor<4x8xf32>) -> tensor<?x4x8xf32>\n```";
  let arguments = !con((ins operandType:$lhs, operandType:$rhs), attrs);
  let results = (outs resultType:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
  let extraClassDefinition = Tern_ElementwiseImpl<rule>.impl;
}

class Tern_CompareOp<string mnemonic, string onnx, string what,
                     Type operandType = Tern_NumericTensor>
    : Tern_BinaryOp<mnemonic, onnx, what, operandType, Tern_BoolTensor, "Bool">;

class Tern_VariadicOp<string mnemonic, string onnx, string what>
    : Tern_Op<mnemonic, [Tern_Broadcasts]> {
  let summary = "ONNX " # onnx # ": " # what;
  let description = "Elementwise `" # onnx # "` over one or more operands with numpy "
    # "broadcasting.\n\nExample:\n\n```mlir\n"
    # "%z = tern." # mnemonic # " %a, %b, %c : (tensor<4xf32>, tensor<1xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>\n```";
  let arguments = (ins Variadic<Tern_NumericTensor>:$inputs);
  let results = (outs Tern_NumericTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
  let extraClassDefinition = Tern_ElementwiseImpl<"SameAsOperands">.impl;
}

//===----------------------------------------------------------------------===//
// Unary
//===----------------------------------------------------------------------===//

def Tern_AbsOp : Tern_UnaryOp<"abs", "Abs", "absolute value">;
def Tern_NegOp : Tern_UnaryOp<"neg", "Neg", "negation">;
def Tern_SignOp : Tern_UnaryOp<"sign", "Sign", "-1, 0 or 1 by sign">;
def Tern_ReluOp : Tern_UnaryOp<"relu", "Relu", "max(x, 0)">;
def Tern_SigmoidOp : Tern_UnaryOp<"sigmoid", "Sigmoid", "1 / (1 + exp(-x))", Tern_FloatTensor>;
def Tern_TanhOp : Tern_UnaryOp<"tanh", "Tanh", "hyperbolic tangent", Tern_FloatTensor>;
def Tern_SqrtOp : Tern_UnaryOp<"sqrt", "Sqrt", "square root", Tern_FloatTensor>;
def Tern_ReciprocalOp : Tern_UnaryOp<"reciprocal", "Reciprocal", "1 / x", Tern_FloatTensor>;
def Tern_ExpOp : Tern_UnaryOp<"exp", "Exp", "e^x", Tern_FloatTensor>;
def Tern_LogOp : Tern_UnaryOp<"log", "Log", "natural logarithm", Tern_FloatTensor>;
def Tern_ErfOp : Tern_UnaryOp<"erf", "Erf", "the error function", Tern_FloatTensor>;
def Tern_CosOp : Tern_UnaryOp<"cos", "Cos", "cosine", Tern_FloatTensor>;
def Tern_SinOp : Tern_UnaryOp<"sin", "Sin", "sine", Tern_FloatTensor>;
def Tern_TanOp : Tern_UnaryOp<"tan", "Tan", "tangent", Tern_FloatTensor>;
def Tern_AcosOp : Tern_UnaryOp<"acos", "Acos", "arccosine", Tern_FloatTensor>;
def Tern_AsinOp : Tern_UnaryOp<"asin", "Asin", "arcsine", Tern_FloatTensor>;
def Tern_AtanOp : Tern_UnaryOp<"atan", "Atan", "arctangent", Tern_FloatTensor>;
def Tern_CoshOp : Tern_UnaryOp<"cosh", "Cosh", "hyperbolic cosine", Tern_FloatTensor>;
def Tern_SinhOp : Tern_UnaryOp<"sinh", "Sinh", "hyperbolic sine", Tern_FloatTensor>;
def Tern_AcoshOp : Tern_UnaryOp<"acosh", "Acosh", "inverse hyperbolic cosine", Tern_FloatTensor>;
def Tern_AsinhOp : Tern_UnaryOp<"asinh", "Asinh", "inverse hyperbolic sine", Tern_FloatTensor>;
def Tern_AtanhOp : Tern_UnaryOp<"atanh", "Atanh", "inverse hyperbolic tangent", Tern_FloatTensor>;
def Tern_FloorOp : Tern_UnaryOp<"floor", "Floor", "round toward -inf", Tern_FloatTensor>;
def Tern_CeilOp : Tern_UnaryOp<"ceil", "Ceil", "round toward +inf", Tern_FloatTensor>;
def Tern_RoundOp : Tern_UnaryOp<"round", "Round", "round half to even", Tern_FloatTensor>;
def Tern_SoftplusOp : Tern_UnaryOp<"softplus", "Softplus", "log(1 + exp(x))", Tern_FloatTensor>;
def Tern_SoftsignOp : Tern_UnaryOp<"softsign", "Softsign", "x / (1 + |x|)", Tern_FloatTensor>;
def Tern_HardSwishOp : Tern_UnaryOp<"hard_swish", "HardSwish", "x * max(0, min(1, x/6 + 1/2))", Tern_FloatTensor>;
def Tern_MishOp : Tern_UnaryOp<"mish", "Mish", "x * tanh(softplus(x))", Tern_FloatTensor>;
def Tern_NotOp : Tern_UnaryOp<"not", "Not", "logical negation", Tern_BoolTensor>;
def Tern_BitwiseNotOp : Tern_UnaryOp<"bitwise_not", "BitwiseNot", "bitwise complement", Tern_AnyIntTensor>;

def Tern_LeakyReluOp : Tern_UnaryOp<"leaky_relu", "LeakyRelu", "x < 0 ? alpha * x : x",
    Tern_FloatTensor, (ins F32Attr:$alpha)>;
def Tern_EluOp : Tern_UnaryOp<"elu", "Elu", "x < 0 ? alpha * (exp(x) - 1) : x",
    Tern_FloatTensor, (ins F32Attr:$alpha)>;
def Tern_CeluOp : Tern_UnaryOp<"celu", "Celu", "max(0,x) + min(0, alpha * (exp(x/alpha) - 1))",
    Tern_FloatTensor, (ins F32Attr:$alpha)>;
def Tern_SeluOp : Tern_UnaryOp<"selu", "Selu", "gamma * (x < 0 ? alpha * (exp(x) - 1) : x)",
    Tern_FloatTensor, (ins F32Attr:$alpha, F32Attr:$gamma)>;
def Tern_HardSigmoidOp : Tern_UnaryOp<"hard_sigmoid", "HardSigmoid", "max(0, min(1, alpha * x + beta))",
    Tern_FloatTensor, (ins F32Attr:$alpha, F32Attr:$beta)>;
def Tern_ThresholdedReluOp : Tern_UnaryOp<"thresholded_relu", "ThresholdedRelu", "x > alpha ? x : 0",
    Tern_FloatTensor, (ins F32Attr:$alpha)>;
def Tern_GeluOp : Tern_UnaryOp<"gelu", "Gelu",
    "x * Phi(x), exact (`approximate = \"none\"`) or with the tanh formula (`\"tanh\"`)",
    Tern_FloatTensor, (ins DefaultValuedStrAttr<StrAttr, "none">:$approximate)> {
  let hasVerifier = 1;
}
def Tern_IsNaNOp : Tern_Op<"is_nan"> {
  let summary = "ONNX IsNaN: true where the element is NaN";
  let description = [{
    ```mlir
    %m = tern.is_nan %x : (tensor<4xf32>) -> tensor<4xi1>
    ```
  }];
  let arguments = (ins Tern_FloatTensor:$input);
  let results = (outs Tern_BoolTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let extraClassDefinition = Tern_ElementwiseImpl<"Bool">.impl;
  let hasFolder = 1;
}
def Tern_IsInfOp : Tern_Op<"is_inf"> {
  let summary = "ONNX IsInf: true where the element is an infinity of a selected sign";
  let description = [{
    ```mlir
    %m = tern.is_inf %x {detect_negative = true, detect_positive = false} : (tensor<4xf32>) -> tensor<4xi1>
    ```
  }];
  let arguments = (ins Tern_FloatTensor:$input, DefaultValuedAttr<BoolAttr, "true">:$detect_negative,
                   DefaultValuedAttr<BoolAttr, "true">:$detect_positive);
  let results = (outs Tern_BoolTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let extraClassDefinition = Tern_ElementwiseImpl<"Bool">.impl;
  let hasFolder = 1;
}

def Tern_CastOp : Tern_Op<"cast"> {
  let summary = "ONNX Cast: converts each element to the element type `to`";
  let description = [{
    Float to integer truncates toward zero; `saturate` (opset 19) clamps
    conversions into float8 types instead of producing NaN/inf.

    ```mlir
    %y = tern.cast %x {to = i64} : (tensor<?xf32>) -> tensor<?xi64>
    ```
  }];
  let arguments = (ins Tern_Tensor:$input, TypeAttr:$to,
                   DefaultValuedAttr<BoolAttr, "true">:$saturate);
  let results = (outs Tern_Tensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Tern_ClipOp : Tern_Op<"clip", [AttrSizedOperandSegments]> {
  let summary = "ONNX Clip: clamps each element into [min, max]";
  let description = [{
    `min` and `max` are optional scalar operands (opset 11 on); opset 6
    attributes are turned into constant operands by the importer.

    ```mlir
    %y = tern.clip %x min %lo max %hi : (tensor<8xf32>, tensor<f32>, tensor<f32>) -> tensor<8xf32>
    ```
  }];
  let arguments = (ins Tern_NumericTensor:$input, Optional<Tern_NumericTensor>:$min,
                   Optional<Tern_NumericTensor>:$max);
  let results = (outs Tern_NumericTensor:$output);
  let assemblyFormat = [{
    $input (`min` $min^)? (`max` $max^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Binary and variadic
//===----------------------------------------------------------------------===//

def Tern_AddOp : Tern_BinaryOp<"add", "Add", "sum">;
def Tern_SubOp : Tern_BinaryOp<"sub", "Sub", "difference">;
def Tern_MulOp : Tern_BinaryOp<"mul", "Mul", "product">;
def Tern_DivOp : Tern_BinaryOp<"div", "Div", "quotient (integer division truncates)">;
def Tern_PowOp : Tern_BinaryOp<"pow", "Pow", "lhs raised to rhs; the result has lhs's element type",
    Tern_NumericTensor, Tern_NumericTensor, "First">;
def Tern_ModOp : Tern_BinaryOp<"mod", "Mod",
    "remainder: with `fmod` the sign of lhs (C fmod), else the sign of rhs (Python %)",
    Tern_NumericTensor, Tern_NumericTensor, "SameAsOperands",
    (ins DefaultValuedAttr<BoolAttr, "false">:$fmod)>;
def Tern_PReluOp : Tern_BinaryOp<"prelu", "PRelu", "x < 0 ? slope * x : x, slope broadcast to x">;
def Tern_BitShiftOp : Tern_BinaryOp<"bit_shift", "BitShift", "shift lhs by rhs bits, `direction` LEFT or RIGHT",
    Tern_AnyIntTensor, Tern_AnyIntTensor, "SameAsOperands", (ins StrAttr:$direction)>;
def Tern_AndOp : Tern_BinaryOp<"and", "And", "logical and", Tern_BoolTensor>;
def Tern_OrOp : Tern_BinaryOp<"or", "Or", "logical or", Tern_BoolTensor>;
def Tern_XorOp : Tern_BinaryOp<"xor", "Xor", "logical exclusive or", Tern_BoolTensor>;
def Tern_BitwiseAndOp : Tern_BinaryOp<"bitwise_and", "BitwiseAnd", "bitwise and", Tern_AnyIntTensor>;
def Tern_BitwiseOrOp : Tern_BinaryOp<"bitwise_or", "BitwiseOr", "bitwise or", Tern_AnyIntTensor>;
def Tern_BitwiseXorOp : Tern_BinaryOp<"bitwise_xor", "BitwiseXor", "bitwise exclusive or", Tern_AnyIntTensor>;

def Tern_EqualOp : Tern_CompareOp<"equal", "Equal", "lhs == rhs", Tern_Tensor>;
def Tern_LessOp : Tern_CompareOp<"less", "Less", "lhs < rhs">;
def Tern_LessOrEqualOp : Tern_CompareOp<"less_or_equal", "LessOrEqual", "lhs <= rhs">;
def Tern_GreaterOp : Tern_CompareOp<"greater", "Greater", "lhs > rhs">;
def Tern_GreaterOrEqualOp : Tern_CompareOp<"greater_or_equal", "GreaterOrEqual", "lhs >= rhs">;

def Tern_MaxOp : Tern_VariadicOp<"max", "Max", "elementwise maximum">;
def Tern_MinOp : Tern_VariadicOp<"min", "Min", "elementwise minimum">;
def Tern_SumOp : Tern_VariadicOp<"sum", "Sum", "elementwise sum">;
def Tern_MeanOp : Tern_VariadicOp<"mean", "Mean", "elementwise mean">;

def Tern_WhereOp : Tern_Op<"where", [Tern_Broadcasts]> {
  let summary = "ONNX Where: picks x where the condition holds, else y, with broadcasting";
  let description = [{
    ```mlir
    %z = tern.where %c, %x, %y : (tensor<1x1x?x?xi1>, tensor<f32>, tensor<?x4x?x?xf32>) -> tensor<?x4x?x?xf32>
    ```
  }];
  let arguments = (ins Tern_BoolTensor:$condition, Tern_Tensor:$x, Tern_Tensor:$y);
  let results = (outs Tern_Tensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

class Tern_ReduceOp<string mnemonic, string onnx, string what>
    : Tern_Op<mnemonic> {
  let summary = "ONNX " # onnx # ": " # what # " over `axes`";
  let description = "Reduces over `axes` (non-negative, sorted, resolved by the importer from "
    # "the attribute or, from opset 13/18, the input). Empty `axes` reduces every axis, "
    # "unless `noop_with_empty_axes` is set, when the op is the identity. `keepdims` keeps "
    # "reduced axes as dims of 1.\n\nExample:\n\n```mlir\n"
    # "%m = tern." # mnemonic # " %x {axes = array<i64: 2>, keepdims = true} : (tensor<?x?x256xf32>) -> tensor<?x?x1xf32>\n```";
  let arguments = (ins Tern_NumericTensor:$data, DenseI64ArrayAttr:$axes,
                   DefaultValuedAttr<BoolAttr, "true">:$keepdims,
                   DefaultValuedAttr<BoolAttr, "false">:$noop_with_empty_axes);
  let results = (outs Tern_NumericTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(::mlir::MLIRContext *,
        std::optional<::mlir::Location> loc, Adaptor adaptor,
        ::llvm::SmallVectorImpl<::mlir::Type> &types) {
      return ::tern::inferReduction(loc, adaptor.getData(), adaptor.getAxes(),
          adaptor.getKeepdims(), adaptor.getNoopWithEmptyAxes(), types);
    }
  }];
}

def Tern_ReduceSumOp : Tern_ReduceOp<"reduce_sum", "ReduceSum", "sum">;
def Tern_ReduceMeanOp : Tern_ReduceOp<"reduce_mean", "ReduceMean", "mean">;
def Tern_ReduceMaxOp : Tern_ReduceOp<"reduce_max", "ReduceMax", "maximum">;
def Tern_ReduceMinOp : Tern_ReduceOp<"reduce_min", "ReduceMin", "minimum">;
def Tern_ReduceProdOp : Tern_ReduceOp<"reduce_prod", "ReduceProd", "product">;
def Tern_ReduceL1Op : Tern_ReduceOp<"reduce_l1", "ReduceL1", "sum of absolute values">;
def Tern_ReduceL2Op : Tern_ReduceOp<"reduce_l2", "ReduceL2", "Euclidean norm">;
def Tern_ReduceLogSumOp : Tern_ReduceOp<"reduce_log_sum", "ReduceLogSum", "log of the sum">;
def Tern_ReduceLogSumExpOp : Tern_ReduceOp<"reduce_log_sum_exp", "ReduceLogSumExp", "log of the sum of exponentials">;
def Tern_ReduceSumSquareOp : Tern_ReduceOp<"reduce_sum_square", "ReduceSumSquare", "sum of squares">;

class Tern_ArgReduceOp<string mnemonic, string onnx, string what> : Tern_Op<mnemonic> {
  let summary = "ONNX " # onnx # ": index of the " # what # " along `axis`, as i64";
  let description = "`select_last_index` picks the last of equal extremes.\n\nExample:\n\n```mlir\n"
    # "%i = tern." # mnemonic # " %x {axis = 1 : i64, keepdims = false} : (tensor<?x10xf32>) -> tensor<?xi64>\n```";
  let arguments = (ins Tern_NumericTensor:$data, I64Attr:$axis,
                   DefaultValuedAttr<BoolAttr, "true">:$keepdims,
                   DefaultValuedAttr<BoolAttr, "false">:$select_last_index);
  let results = (outs Tern_I64Tensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(::mlir::MLIRContext *ctx,
        std::optional<::mlir::Location> loc, Adaptor adaptor,
        ::llvm::SmallVectorImpl<::mlir::Type> &types) {
      return ::tern::inferArgReduction(loc, adaptor.getData(), adaptor.getAxis(),
                                       adaptor.getKeepdims(), types);
    }
  }];
}

def Tern_ArgMaxOp : Tern_ArgReduceOp<"arg_max", "ArgMax", "maximum">;
def Tern_ArgMinOp : Tern_ArgReduceOp<"arg_min", "ArgMin", "minimum">;

#endif // TERN_MATH_OPS_TD
