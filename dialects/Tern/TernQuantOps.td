//===- TernQuantOps.td - quantized and low-bit ops -----------------------===//
//
// Scales and zero points are operands. Their shape says the granularity:
// one element (per tensor), 1-D along `axis` (per axis), or the data's rank
// with `block_size` elements of data per scale along `axis` (block-wise).
//
//===----------------------------------------------------------------------===//

#ifndef TERN_QUANT_OPS_TD
#define TERN_QUANT_OPS_TD

include "dialects/Tern/TernBase.td"

def Tern_QuantizeLinearOp : Tern_Op<"quantize_linear"> {
  let summary = "ONNX QuantizeLinear: saturate(round(x / scale) + zero_point)";
  let description = [{
    The result element type is `output_type` (resolved at import from the
    zero point, `output_dtype`, or uint8). `axis` is non-negative;
    `block_size` is 0 unless the scale is block-wise.

    ```mlir
    %q = tern.quantize_linear %x, %s zero_point %zp {axis = 1 : i64, block_size = 0 : i64, output_type = i8}
         : (tensor<1x64xf32>, tensor<f32>, tensor<i8>) -> tensor<1x64xi8>
    ```
  }];
  let arguments = (ins Tern_FloatTensor:$input, Tern_FloatTensor:$scale,
                   Optional<Tern_QuantTensor>:$zero_point,
                   TypeAttr:$output_type, I64Attr:$axis,
                   DefaultValuedAttr<I64Attr, "0">:$block_size,
                   DefaultValuedAttr<BoolAttr, "true">:$saturate);
  let results = (outs Tern_QuantTensor:$output);
  let assemblyFormat = [{
    $input `,` $scale (`zero_point` $zero_point^)? attr-dict `:` functional-type(operands, results)
  }];
}

def Tern_DequantizeLinearOp : Tern_Op<"dequantize_linear"> {
  let summary = "ONNX DequantizeLinear: (x - zero_point) * scale";
  let description = [{
    The result has the scale's element type. int32 inputs (bias) take no
    zero point.

    ```mlir
    %w = tern.dequantize_linear %q, %s, %zp {axis = 0 : i64, block_size = 0 : i64}
         : (tensor<64x3x7x7xi8>, tensor<64xf32>, tensor<64xi8>) -> tensor<64x3x7x7xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[Tern_QuantElem]>:$input, Tern_FloatTensor:$scale,
                   Optional<Tern_QuantTensor>:$zero_point, I64Attr:$axis,
                   DefaultValuedAttr<I64Attr, "0">:$block_size);
  let results = (outs Tern_FloatTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Tern_DynamicQuantizeLinearOp : Tern_Op<"dynamic_quantize_linear"> {
  let summary = "ONNX DynamicQuantizeLinear: uint8 quantization with a scale and zero point computed from the data";
  let description = [{
    ```mlir
    %q, %s, %zp = tern.dynamic_quantize_linear %x : (tensor<?x?x768xf32>) -> (tensor<?x?x768xui8>, tensor<f32>, tensor<ui8>)
    ```
  }];
  let arguments = (ins Tern_FloatTensor:$input);
  let results = (outs RankedTensorOf<[UI8]>:$output, Tern_FloatTensor:$scale,
                 RankedTensorOf<[UI8]>:$zero_point);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Tern_MatMulIntegerOp : Tern_Op<"matmul_integer", [AttrSizedOperandSegments]> {
  let summary = "ONNX MatMulInteger: (a - a_zero_point) x (b - b_zero_point), accumulated in i32";
  let description = [{
    Besides ONNX's 8-bit operands, `a` may be int16 (what
    tern-int16-activations makes of float activations; the sums must then
    fit i32 as they do for its choice of levels).

    ```mlir
    %y = tern.matmul_integer %a, %b a_zero_point %za b_zero_point %zb
         : (tensor<?x?x768xui8>, tensor<768x768xi8>, tensor<ui8>, tensor<i8>) -> tensor<?x?x768xi32>
    ```
  }];
  let arguments = (ins Tern_Int8Or16Tensor:$a, Tern_Int8Tensor:$b,
                   Optional<Tern_Int8Or16Tensor>:$a_zero_point, Optional<Tern_Int8Tensor>:$b_zero_point);
  let results = (outs RankedTensorOf<[I32]>:$output);
  let assemblyFormat = [{
    $a `,` $b (`a_zero_point` $a_zero_point^)? (`b_zero_point` $b_zero_point^)? attr-dict `:` functional-type(operands, results)
  }];
}

def Tern_ConvIntegerOp : Tern_Op<"conv_integer", [AttrSizedOperandSegments]> {
  let summary = "ONNX ConvInteger: convolution of zero-point-shifted int8 data, accumulated in i32";
  let description = [{
    ```mlir
    %y = tern.conv_integer %x, %w x_zero_point %zx {kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>,
           pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}
         : (tensor<1x3x8x8xui8>, tensor<4x3x3x3xui8>, tensor<ui8>) -> tensor<1x4x6x6xi32>
    ```
  }];
  let arguments = !con((ins Tern_Int8Tensor:$x, Tern_Int8Tensor:$w,
                        Optional<Tern_Int8Tensor>:$x_zero_point,
                        Optional<Tern_Int8Tensor>:$w_zero_point,
                        DefaultValuedAttr<I64Attr, "1">:$group), Tern_WindowAttrs);
  let results = (outs RankedTensorOf<[I32]>:$output);
  let assemblyFormat = [{
    $x `,` $w (`x_zero_point` $x_zero_point^)? (`w_zero_point` $w_zero_point^)? attr-dict `:` functional-type(operands, results)
  }];
}

def Tern_QLinearMatMulOp : Tern_Op<"qlinear_matmul"> {
  let summary = "ONNX QLinearMatMul: quantized matmul with requantized output";
  let description = [{
    ```mlir
    %y = tern.qlinear_matmul %a, %as, %az, %b, %bs, %bz, %ys, %yz
         : (tensor<2x4xui8>, tensor<f32>, tensor<ui8>, tensor<4x3xui8>, tensor<f32>, tensor<ui8>, tensor<f32>, tensor<ui8>) -> tensor<2x3xui8>
    ```
  }];
  let arguments = (ins Tern_Int8Tensor:$a, Tern_FloatTensor:$a_scale, Tern_Int8Tensor:$a_zero_point,
                   Tern_Int8Tensor:$b, Tern_FloatTensor:$b_scale, Tern_Int8Tensor:$b_zero_point,
                   Tern_FloatTensor:$y_scale, Tern_Int8Tensor:$y_zero_point);
  let results = (outs Tern_Int8Tensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Tern_QLinearConvOp : Tern_Op<"qlinear_conv"> {
  let summary = "ONNX QLinearConv: quantized convolution with requantized output";
  let description = [{
    ```mlir
    %y = tern.qlinear_conv %x, %xs, %xz, %w, %ws, %wz, %ys, %yz {kernel_shape = array<i64: 1, 1>,
           strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}
         : (tensor<1x3x4x4xui8>, tensor<f32>, tensor<ui8>, tensor<2x3x1x1xui8>, tensor<f32>, tensor<ui8>, tensor<f32>, tensor<ui8>) -> tensor<1x2x4x4xui8>
    ```
  }];
  let arguments = !con((ins Tern_Int8Tensor:$x, Tern_FloatTensor:$x_scale, Tern_Int8Tensor:$x_zero_point,
                        Tern_Int8Tensor:$w, Tern_FloatTensor:$w_scale, Tern_Int8Tensor:$w_zero_point,
                        Tern_FloatTensor:$y_scale, Tern_Int8Tensor:$y_zero_point,
                        Optional<RankedTensorOf<[I32]>>:$bias,
                        DefaultValuedAttr<I64Attr, "1">:$group), Tern_WindowAttrs);
  let results = (outs Tern_Int8Tensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Tern_MatMulNBitsOp : Tern_Op<"matmul_nbits", [AttrSizedOperandSegments]> {
  let summary = "com.microsoft MatMulNBits: a x dequantize(B)^T with block-wise n-bit weights";
  let description = [{
    `b` is uint8 [N, ceil(K / block_size), block_size * bits / 8], the
    packed weights of each column in blocks; `scales` has N * blocks
    elements; the optional `zero_points` are packed the same way as `b`
    (or float, one per block); without them the zero point is 2^(bits-1).

    ```mlir
    %y = tern.matmul_nbits %a, %b, %s {k = 256 : i64, n = 768 : i64, bits = 4 : i64, block_size = 32 : i64}
         : (tensor<1x?x256xf32>, tensor<768x8x16xui8>, tensor<6144xf32>) -> tensor<1x?x768xf32>
    ```
  }];
  let arguments = (ins Tern_FloatTensor:$a, RankedTensorOf<[UI8]>:$b, Tern_FloatTensor:$scales,
                   Optional<Tern_Tensor>:$zero_points, Optional<Tern_AnyIntTensor>:$g_idx,
                   Optional<Tern_FloatTensor>:$bias,
                   I64Attr:$k, I64Attr:$n, DefaultValuedAttr<I64Attr, "4">:$bits, I64Attr:$block_size,
                   DefaultValuedAttr<I64Attr, "0">:$accuracy_level);
  let results = (outs Tern_FloatTensor:$output);
  let assemblyFormat = [{
    $a `,` $b `,` $scales (`zero_points` $zero_points^)? (`g_idx` $g_idx^)? (`bias` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
}

#endif // TERN_QUANT_OPS_TD
