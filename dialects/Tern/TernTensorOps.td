//===- TernTensorOps.td - constants, shapes, data movement ---------------===//

#ifndef TERN_TENSOR_OPS_TD
#define TERN_TENSOR_OPS_TD

include "dialects/Tern/TernBase.td"

def Tern_ConstantOp : Tern_Op<"constant", [ConstantLike]> {
  let summary = "a constant tensor: an ONNX initializer or Constant node";
  let description = [{
    Small values are dense attributes, which folding reads; large weights are
    `dense_resource` blobs that point into the memory-mapped model or external
    data file, so they are neither copied nor printed.

    ```mlir
    %shape = tern.constant dense<[0, -1, 768]> : tensor<3xi64>
    %w = tern.constant dense_resource<w_0> : tensor<768x3072xf32>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Tern_Tensor:$output);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

def Tern_ShapeOp : Tern_Op<"shape"> {
  let summary = "ONNX Shape: the dims of a tensor as a 1-D i64 tensor";
  let description = [{
    `start` and `end` (opset 15) select a range of dims, non-negative after
    import. Folds to a constant when the selected dims are static.

    ```mlir
    %s = tern.shape %x {start = 0 : i64, end = 2 : i64} : (tensor<?x128x768xf32>) -> tensor<2xi64>
    ```
  }];
  let arguments = (ins Tern_Tensor:$data, I64Attr:$start, I64Attr:$end);
  let results = (outs Tern_I64Tensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Tern_SizeOp : Tern_Op<"size"> {
  let summary = "ONNX Size: the element count as an i64 scalar";
  let description = [{
    ```mlir
    %n = tern.size %x : (tensor<2x3xf32>) -> tensor<i64>
    ```
  }];
  let arguments = (ins Tern_Tensor:$data);
  let results = (outs Tern_I64Tensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Tern_ReshapeOp : Tern_Op<"reshape"> {
  let summary = "ONNX Reshape: the same elements under a new shape";
  let description = [{
    A 0 in `shape` copies the input dim (unless `allowzero`), a -1 is
    inferred. When `shape` is not a constant, its length gives the rank and
    the dims are dynamic.

    ```mlir
    %y = tern.reshape %x, %s : (tensor<1x128x768xf32>, tensor<4xi64>) -> tensor<1x128x12x64xf32>
    ```
  }];
  let arguments = (ins Tern_Tensor:$data, Tern_I64Tensor:$shape,
                   DefaultValuedAttr<BoolAttr, "false">:$allowzero);
  let results = (outs Tern_Tensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Tern_TransposeOp : Tern_Op<"transpose"> {
  let summary = "ONNX Transpose: permutes dims, result dim i = input dim perm[i]";
  let description = [{
    ```mlir
    %y = tern.transpose %x {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x128x12x64xf32>) -> tensor<1x12x128x64xf32>
    ```
  }];
  let arguments = (ins Tern_Tensor:$data, DenseI64ArrayAttr:$perm);
  let results = (outs Tern_Tensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Tern_ConcatOp : Tern_Op<"concat"> {
  let summary = "ONNX Concat: joins tensors along `axis`";
  let description = [{
    ```mlir
    %y = tern.concat %a, %b {axis = 0 : i64} : (tensor<1xi64>, tensor<2xi64>) -> tensor<3xi64>
    ```
  }];
  let arguments = (ins Variadic<Tern_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs Tern_Tensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Tern_SplitOp : Tern_Op<"split"> {
  let summary = "ONNX Split: cuts a tensor along `axis` into `num_outputs` parts";
  let description = [{
    With the optional `split` operand the parts have those sizes; without
    it they are equal, the last one smaller when the dim does not divide
    (opset 18).

    ```mlir
    %q, %k, %v = tern.split %x {axis = 2 : i64, num_outputs = 3 : i64}
        : (tensor<?x?x2304xf32>) -> (tensor<?x?x768xf32>, tensor<?x?x768xf32>, tensor<?x?x768xf32>)
    ```
  }];
  let arguments = (ins Tern_Tensor:$input, Optional<Tern_I64Tensor>:$split, I64Attr:$axis,
                   I64Attr:$num_outputs);
  let results = (outs Variadic<Tern_Tensor>:$outputs);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Tern_SqueezeOp : Tern_Op<"squeeze"> {
  let summary = "ONNX Squeeze: removes dims of size 1 listed in `axes`";
  let description = [{
    `axes` is explicit, non-negative and sorted after import.

    ```mlir
    %y = tern.squeeze %x {axes = array<i64: 1>} : (tensor<?x1x8xf32>) -> tensor<?x8xf32>
    ```
  }];
  let arguments = (ins Tern_Tensor:$data, DenseI64ArrayAttr:$axes);
  let results = (outs Tern_Tensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Tern_UnsqueezeOp : Tern_Op<"unsqueeze"> {
  let summary = "ONNX Unsqueeze: inserts dims of size 1 at `axes` of the result";
  let description = [{
    `axes` is non-negative (against the result's rank) and sorted after import.

    ```mlir
    %y = tern.unsqueeze %x {axes = array<i64: 0>} : (tensor<i64>) -> tensor<1xi64>
    ```
  }];
  let arguments = (ins Tern_Tensor:$data, DenseI64ArrayAttr:$axes);
  let results = (outs Tern_Tensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Tern_FlattenOp : Tern_Op<"flatten"> {
  let summary = "ONNX Flatten: reshapes to 2-D, dims before `axis` times dims from it";
  let description = [{
    ```mlir
    %y = tern.flatten %x {axis = 1 : i64} : (tensor<?x2048x1x1xf32>) -> tensor<?x2048xf32>
    ```
  }];
  let arguments = (ins Tern_Tensor:$input, I64Attr:$axis);
  let results = (outs Tern_Tensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Tern_ExpandOp : Tern_Op<"expand"> {
  let summary = "ONNX Expand: broadcasts a tensor to a shape (bidirectionally)";
  let description = [{
    ```mlir
    %y = tern.expand %x, %s : (tensor<1x1x8xf32>, tensor<3xi64>) -> tensor<4x1x8xf32>
    ```
  }];
  let arguments = (ins Tern_Tensor:$input, Tern_I64Tensor:$shape);
  let results = (outs Tern_Tensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Tern_TileOp : Tern_Op<"tile"> {
  let summary = "ONNX Tile: repeats a tensor `repeats[i]` times along dim i";
  let description = [{
    ```mlir
    %y = tern.tile %x, %r : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<4x3xf32>
    ```
  }];
  let arguments = (ins Tern_Tensor:$input, Tern_I64Tensor:$repeats);
  let results = (outs Tern_Tensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Tern_GatherOp : Tern_Op<"gather"> {
  let summary = "ONNX Gather: takes slices of `data` along `axis` at `indices`";
  let description = [{
    The result shape is data.shape[:axis] + indices.shape + data.shape[axis+1:].
    Negative indices count from the end.

    ```mlir
    %e = tern.gather %table, %ids {axis = 0 : i64} : (tensor<50257x768xf32>, tensor<?x?xi64>) -> tensor<?x?x768xf32>
    ```
  }];
  let arguments = (ins Tern_Tensor:$data, Tern_IndexTensor:$indices, I64Attr:$axis);
  let results = (outs Tern_Tensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Tern_GatherElementsOp : Tern_Op<"gather_elements"> {
  let summary = "ONNX GatherElements: out[i][j] = data[indices[i][j]][j] along `axis`";
  let description = [{
    ```mlir
    %y = tern.gather_elements %d, %i {axis = 1 : i64} : (tensor<3x4xf32>, tensor<3x2xi64>) -> tensor<3x2xf32>
    ```
  }];
  let arguments = (ins Tern_Tensor:$data, Tern_IndexTensor:$indices, I64Attr:$axis);
  let results = (outs Tern_Tensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Tern_GatherNDOp : Tern_Op<"gather_nd"> {
  let summary = "ONNX GatherND: gathers slices addressed by the last dim of `indices`";
  let description = [{
    ```mlir
    %y = tern.gather_nd %d, %i {batch_dims = 0 : i64} : (tensor<4x5x6xf32>, tensor<2x2xi64>) -> tensor<2x6xf32>
    ```
  }];
  let arguments = (ins Tern_Tensor:$data, Tern_I64Tensor:$indices,
                   DefaultValuedAttr<I64Attr, "0">:$batch_dims);
  let results = (outs Tern_Tensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Tern_SliceOp : Tern_Op<"slice"> {
  let summary = "ONNX Slice (opset 10 form): starts, ends, axes and steps as operands";
  let description = [{
    The importer always supplies `axes` and `steps`. Out-of-range starts and
    ends clamp as ONNX says; a dim stays dynamic unless the input dim and the
    relevant operands are constant.

    ```mlir
    %y = tern.slice %x, %starts, %ends, %axes, %steps
         : (tensor<1x1x1024x1024xi1>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x1x128x1024xi1>
    ```
  }];
  let arguments = (ins Tern_Tensor:$data, Tern_IndexTensor:$starts, Tern_IndexTensor:$ends,
                   Tern_IndexTensor:$axes, Tern_IndexTensor:$steps);
  let results = (outs Tern_Tensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Tern_RangeOp : Tern_Op<"range"> {
  let summary = "ONNX Range: start, start + delta, ... up to (excluding) limit";
  let description = [{
    ```mlir
    %r = tern.range %start, %limit, %delta : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
    ```
  }];
  let arguments = (ins Tern_NumericTensor:$start, Tern_NumericTensor:$limit,
                   Tern_NumericTensor:$delta);
  let results = (outs Tern_NumericTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Tern_CumSumOp : Tern_Op<"cumsum"> {
  let summary = "ONNX CumSum: running sum along `axis`";
  let description = [{
    `axis` (an input in ONNX) must be constant and is an attribute here,
    non-negative. `exclusive` leaves out the current element; `reverse` sums
    from the end.

    ```mlir
    %y = tern.cumsum %x {axis = 1 : i64} : (tensor<1x?xi64>) -> tensor<1x?xi64>
    ```
  }];
  let arguments = (ins Tern_NumericTensor:$input, I64Attr:$axis,
                   DefaultValuedAttr<BoolAttr, "false">:$exclusive,
                   DefaultValuedAttr<BoolAttr, "false">:$reverse);
  let results = (outs Tern_NumericTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Tern_ConstantOfShapeOp : Tern_Op<"constant_of_shape"> {
  let summary = "ONNX ConstantOfShape: a tensor of the given shape filled with `value`";
  let description = [{
    `value` is a one-element tensor whose element type is the result's.

    ```mlir
    %z = tern.constant_of_shape %s {value = dense<0.0> : tensor<1xf32>} : (tensor<2xi64>) -> tensor<?x?xf32>
    ```
  }];
  let arguments = (ins Tern_I64Tensor:$shape, ElementsAttr:$value);
  let results = (outs Tern_Tensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Tern_PadOp : Tern_Op<"pad", [AttrSizedOperandSegments]> {
  let summary = "ONNX Pad: pads with a constant, or by reflecting, repeating the edge or wrapping";
  let description = [{
    `pads` lists begin pads for every padded axis, then end pads; `axes`
    (opset 18) names the axes, all of them by default. Negative pads crop.

    ```mlir
    %y = tern.pad %x, %p value %c {mode = "constant"} : (tensor<1x3x4x4xf32>, tensor<8xi64>, tensor<f32>) -> tensor<1x3x6x6xf32>
    ```
  }];
  let arguments = (ins Tern_Tensor:$data, Tern_I64Tensor:$pads,
                   Optional<Tern_Tensor>:$constant_value, Optional<Tern_IndexTensor>:$axes,
                   DefaultValuedStrAttr<StrAttr, "constant">:$mode);
  let results = (outs Tern_Tensor:$output);
  let assemblyFormat = [{
    $data `,` $pads (`value` $constant_value^)? (`axes` $axes^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Tern_TriluOp : Tern_Op<"trilu"> {
  let summary = "ONNX Trilu: keeps the upper or lower triangle of the last two dims";
  let description = [{
    ```mlir
    %y = tern.trilu %x k %k {upper = false} : (tensor<4x4xf32>, tensor<i64>) -> tensor<4x4xf32>
    ```
  }];
  let arguments = (ins Tern_Tensor:$input, Optional<Tern_I64Tensor>:$k,
                   DefaultValuedAttr<BoolAttr, "true">:$upper);
  let results = (outs Tern_Tensor:$output);
  let assemblyFormat = "$input (`k` $k^)? attr-dict `:` functional-type(operands, results)";
}

#endif // TERN_TENSOR_OPS_TD
