//===- TernNNOps.td - matmul, convolution, pooling, normalization --------===//

#ifndef TERN_NN_OPS_TD
#define TERN_NN_OPS_TD

include "dialects/Tern/TernBase.td"

def Tern_MatMulOp : Tern_Op<"matmul"> {
  let summary = "ONNX MatMul: numpy matrix product";
  let description = [{
    Batch dims broadcast; a 1-D operand is promoted to a matrix and the added
    dim dropped from the result.

    ```mlir
    %y = tern.matmul %a, %b : (tensor<?x?x768xf32>, tensor<768x3072xf32>) -> tensor<?x?x3072xf32>
    ```
  }];
  let arguments = (ins Tern_NumericTensor:$a, Tern_NumericTensor:$b);
  let results = (outs Tern_NumericTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Tern_GemmOp : Tern_Op<"gemm"> {
  let summary = "ONNX Gemm: alpha * op(A) * op(B) + beta * C";
  let description = [{
    A and B are matrices, transposed first when `trans_a`/`trans_b` is set;
    the optional C broadcasts to the [M, N] result.

    ```mlir
    %y = tern.gemm %x, %w, %b {trans_b = true} : (tensor<?x64xf32>, tensor<128x64xf32>, tensor<128xf32>) -> tensor<?x128xf32>
    ```
  }];
  let arguments = (ins Tern_NumericTensor:$a, Tern_NumericTensor:$b,
                   Optional<Tern_NumericTensor>:$c,
                   DefaultValuedAttr<F32Attr, "1.0f">:$alpha,
                   DefaultValuedAttr<F32Attr, "1.0f">:$beta,
                   DefaultValuedAttr<BoolAttr, "false">:$trans_a,
                   DefaultValuedAttr<BoolAttr, "false">:$trans_b);
  let results = (outs Tern_NumericTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Tern_ConvOp : Tern_Op<"conv"> {
  let summary = "ONNX Conv: grouped N-d convolution, NCHW";
  let description = [{
    `pads` holds the begin pads of every spatial dim then the end pads.
    `auto_pad` is NOTSET (explicit pads) or SAME_UPPER/SAME_LOWER, which the
    output shape honours whatever the input size.

    ```mlir
    %y = tern.conv %x, %w, %b {kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>,
           pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64}
         : (tensor<1x3x224x224xf32>, tensor<64x3x3x3xf32>, tensor<64xf32>) -> tensor<1x64x224x224xf32>
    ```
  }];
  let arguments = !con((ins Tern_NumericTensor:$x, Tern_NumericTensor:$w,
                        Optional<Tern_NumericTensor>:$bias,
                        DefaultValuedAttr<I64Attr, "1">:$group), Tern_WindowAttrs);
  let results = (outs Tern_NumericTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Tern_ConvTransposeOp : Tern_Op<"conv_transpose"> {
  let summary = "ONNX ConvTranspose: the gradient of Conv with respect to its input";
  let description = [{
    `output_padding` adds to the end of each spatial dim of the result.

    ```mlir
    %y = tern.conv_transpose %x, %w {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>,
           pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, output_padding = array<i64: 0, 0>}
         : (tensor<1x8x4x4xf32>, tensor<8x4x2x2xf32>) -> tensor<1x4x8x8xf32>
    ```
  }];
  let arguments = !con((ins Tern_FloatTensor:$x, Tern_FloatTensor:$w,
                        Optional<Tern_FloatTensor>:$bias,
                        DefaultValuedAttr<I64Attr, "1">:$group,
                        DenseI64ArrayAttr:$output_padding), Tern_WindowAttrs);
  let results = (outs Tern_FloatTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Tern_MaxPoolOp : Tern_Op<"max_pool"> {
  let summary = "ONNX MaxPool: maximum over sliding windows";
  let description = [{
    ```mlir
    %y = tern.max_pool %x {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>,
           pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>}
         : (tensor<1x64x112x112xf32>) -> tensor<1x64x56x56xf32>
    ```
  }];
  let arguments = !con((ins Tern_NumericTensor:$x,
                        DefaultValuedAttr<BoolAttr, "false">:$ceil_mode), Tern_WindowAttrs);
  let results = (outs Tern_NumericTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Tern_AveragePoolOp : Tern_Op<"average_pool"> {
  let summary = "ONNX AveragePool: mean over sliding windows";
  let description = [{
    `count_include_pad` counts padding elements in the divisor.

    ```mlir
    %y = tern.average_pool %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>,
           pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}
         : (tensor<1x8x4x4xf32>) -> tensor<1x8x2x2xf32>
    ```
  }];
  let arguments = !con((ins Tern_FloatTensor:$x,
                        DefaultValuedAttr<BoolAttr, "false">:$ceil_mode,
                        DefaultValuedAttr<BoolAttr, "false">:$count_include_pad), Tern_WindowAttrs);
  let results = (outs Tern_FloatTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

class Tern_GlobalPoolOp<string mnemonic, string onnx, string what> : Tern_Op<mnemonic> {
  let summary = "ONNX " # onnx # ": " # what # " over all spatial dims, kept as dims of 1";
  let description = "Example:\n\n```mlir\n%y = tern." # mnemonic
    # " %x : (tensor<?x2048x7x7xf32>) -> tensor<?x2048x1x1xf32>\n```";
  let arguments = (ins Tern_FloatTensor:$x);
  let results = (outs Tern_FloatTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(::mlir::MLIRContext *,
        std::optional<::mlir::Location> loc, Adaptor adaptor,
        ::llvm::SmallVectorImpl<::mlir::Type> &types) {
      return ::tern::inferGlobalPool(loc, adaptor.getX(), types);
    }
  }];
}
def Tern_GlobalAveragePoolOp : Tern_GlobalPoolOp<"global_average_pool", "GlobalAveragePool", "mean">;
def Tern_GlobalMaxPoolOp : Tern_GlobalPoolOp<"global_max_pool", "GlobalMaxPool", "maximum">;

def Tern_BatchNormalizationOp : Tern_Op<"batch_normalization"> {
  let summary = "ONNX BatchNormalization in inference mode";
  let description = [{
    y = scale * (x - mean) / sqrt(var + epsilon) + bias, per channel (dim 1).

    ```mlir
    %y = tern.batch_normalization %x, %s, %b, %m, %v {epsilon = 1.0e-05 : f32}
         : (tensor<1x64x8x8xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<1x64x8x8xf32>
    ```
  }];
  let arguments = (ins Tern_FloatTensor:$x, Tern_FloatTensor:$scale, Tern_FloatTensor:$bias,
                   Tern_FloatTensor:$mean, Tern_FloatTensor:$variance,
                   DefaultValuedAttr<F32Attr, "1e-5f">:$epsilon);
  let results = (outs Tern_FloatTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Tern_InstanceNormalizationOp : Tern_Op<"instance_normalization"> {
  let summary = "ONNX InstanceNormalization: per instance and channel over spatial dims";
  let description = [{
    ```mlir
    %y = tern.instance_normalization %x, %s, %b {epsilon = 1.0e-05 : f32}
         : (tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
    ```
  }];
  let arguments = (ins Tern_FloatTensor:$x, Tern_FloatTensor:$scale, Tern_FloatTensor:$bias,
                   DefaultValuedAttr<F32Attr, "1e-5f">:$epsilon);
  let results = (outs Tern_FloatTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Tern_LayerNormalizationOp : Tern_Op<"layer_normalization"> {
  let summary = "ONNX LayerNormalization over the dims from `axis` on";
  let description = [{
    `axis` is non-negative after import. Scale and the optional bias broadcast
    to the normalized dims. Only the first ONNX output (Y) is modelled.

    ```mlir
    %y = tern.layer_normalization %x, %g, %b {axis = 2 : i64, epsilon = 1.0e-05 : f32}
         : (tensor<?x?x768xf32>, tensor<768xf32>, tensor<768xf32>) -> tensor<?x?x768xf32>
    ```
  }];
  let arguments = (ins Tern_FloatTensor:$x, Tern_FloatTensor:$scale,
                   Optional<Tern_FloatTensor>:$bias, I64Attr:$axis,
                   DefaultValuedAttr<F32Attr, "1e-5f">:$epsilon);
  let results = (outs Tern_FloatTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

class Tern_SoftmaxLikeOp<string mnemonic, string onnx, string what> : Tern_Op<mnemonic> {
  let summary = "ONNX " # onnx # " (opset 13 semantics): " # what # " along `axis`";
  let description = "`axis` is non-negative after import; models of opset < 13, whose op "
    # "flattened to 2-D first, are rewritten by the importer.\n\nExample:\n\n```mlir\n"
    # "%y = tern." # mnemonic # " %x {axis = 3 : i64} : (tensor<?x12x?x?xf32>) -> tensor<?x12x?x?xf32>\n```";
  let arguments = (ins Tern_FloatTensor:$input, I64Attr:$axis);
  let results = (outs Tern_FloatTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(::mlir::MLIRContext *,
        std::optional<::mlir::Location> loc, Adaptor adaptor,
        ::llvm::SmallVectorImpl<::mlir::Type> &types) {
      return ::tern::inferSameWithAxis(loc, adaptor.getInput(), adaptor.getAxis(), types);
    }
  }];
}
def Tern_SoftmaxOp : Tern_SoftmaxLikeOp<"softmax", "Softmax", "exp(x) / sum(exp(x))">;
def Tern_LogSoftmaxOp : Tern_SoftmaxLikeOp<"log_softmax", "LogSoftmax", "log of softmax">;
def Tern_HardmaxOp : Tern_SoftmaxLikeOp<"hardmax", "Hardmax", "1 at the first maximum, else 0">;

#endif // TERN_NN_OPS_TD
