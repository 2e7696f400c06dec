//===- TernFusedOps.td - ops the graph passes produce -------------------===//
//
// No ONNX node imports to these; the fusion, quantization and sparsity passes
// make them, and the lowering turns each into one kernel.
//
//===----------------------------------------------------------------------===//

#ifndef TERN_FUSED_OPS_TD
#define TERN_FUSED_OPS_TD

include "dialects/Tern/TernBase.td"

// The activations a fused epilogue applies after the bias. `clip` uses the
// `clip_min`/`clip_max` attributes; `leaky_relu` uses `alpha`.
defvar Tern_EpilogueAttrs = (ins
    DefaultValuedStrAttr<StrAttr, "none">:$activation,
    DefaultValuedAttr<F32Attr, "0.0f">:$clip_min,
    DefaultValuedAttr<F32Attr, "6.0f">:$clip_max,
    DefaultValuedAttr<F32Attr, "0.01f">:$alpha);

def Tern_FusedMatMulOp : Tern_Op<"fused_matmul", [AttrSizedOperandSegments]> {
  let summary = "matmul with a fused epilogue: activation(op(a) x op(b) + bias) + residual";
  let description = [{
    `a` and `b` follow MatMul's broadcasting; `trans_b` reads `b` as [.., N, K].
    `activation` is one of none, relu, clip, gelu_erf, gelu_tanh, silu,
    sigmoid, tanh, leaky_relu. `bias` broadcasts along the last dim, `residual`
    to the whole result. Nothing between the matmul and the last add is
    written to memory.

    ```mlir
    %y = tern.fused_matmul %x, %w bias %b residual %r {activation = "gelu_tanh"}
         : (tensor<1x128x768xf32>, tensor<768x3072xf32>, tensor<3072xf32>, tensor<1x128x3072xf32>) -> tensor<1x128x3072xf32>
    ```
  }];
  let arguments = !con((ins Tern_FloatTensor:$a, Tern_Tensor:$b,
                        Optional<Tern_FloatTensor>:$bias, Optional<Tern_FloatTensor>:$residual,
                        DefaultValuedAttr<BoolAttr, "false">:$trans_b), Tern_EpilogueAttrs);
  let results = (outs Tern_FloatTensor:$output);
  let assemblyFormat = [{
    $a `,` $b (`bias` $bias^)? (`residual` $residual^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Tern_FusedConvOp : Tern_Op<"fused_conv", [AttrSizedOperandSegments]> {
  let summary = "convolution with a fused epilogue: activation(conv(x, w) + bias) + residual";
  let description = [{
    Conv's attributes, and the epilogue of `tern.fused_matmul`.

    ```mlir
    %y = tern.fused_conv %x, %w bias %b {activation = "clip", clip_min = 0.0 : f32, clip_max = 6.0 : f32,
           kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>,
           dilations = array<i64: 1, 1>, group = 32 : i64}
         : (tensor<1x32x112x112xf32>, tensor<32x1x3x3xf32>, tensor<32xf32>) -> tensor<1x32x112x112xf32>
    ```
  }];
  let arguments = !con((ins Tern_FloatTensor:$x, Tern_Tensor:$w,
                        Optional<Tern_FloatTensor>:$bias, Optional<Tern_FloatTensor>:$residual,
                        DefaultValuedAttr<I64Attr, "1">:$group), Tern_WindowAttrs, Tern_EpilogueAttrs);
  let results = (outs Tern_FloatTensor:$output);
  let assemblyFormat = [{
    $x `,` $w (`bias` $bias^)? (`residual` $residual^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Tern_NormalizationOp : Tern_Op<"normalization"> {
  let summary = "layer or RMS normalization over the dims from `axis` on";
  let description = [{
    `kind = "layer"`: (x - mean) / sqrt(var + epsilon) * scale + bias.
    `kind = "rms"`: x / sqrt(mean(x^2) + epsilon) * scale (+ bias).
    The fused form of LayerNormalization and of the written-out
    ReduceMean/Pow/Sqrt/Div chains.

    ```mlir
    %y = tern.normalization %x, %g {kind = "rms", axis = 2 : i64, epsilon = 1.0e-06 : f32}
         : (tensor<1x?x256xf32>, tensor<256xf32>) -> tensor<1x?x256xf32>
    ```
  }];
  let arguments = (ins Tern_FloatTensor:$x, Tern_FloatTensor:$scale,
                   Optional<Tern_FloatTensor>:$bias, StrAttr:$kind, I64Attr:$axis,
                   DefaultValuedAttr<F32Attr, "1e-5f">:$epsilon);
  let results = (outs Tern_FloatTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Tern_AttentionOp : Tern_Op<"attention"> {
  let summary = "fused scaled dot-product attention, with grouped-query heads";
  let description = [{
    softmax(q x k^T * scale + mask) x v, per batch and head, computed with an
    online softmax so the score matrix is never stored. q is [B, Hq, S, D],
    k and v are [B, Hkv, L, D] and [B, Hkv, L, Dv] with Hq a multiple of Hkv
    (grouped-query attention shares each k/v head among Hq / Hkv query
    heads). The optional additive `mask` broadcasts to [B, Hq, S, L];
    `causal` masks key positions after the query's, aligned at the end.

    ```mlir
    %o = tern.attention %q, %k, %v {scale = 0.125 : f32, causal = true}
         : (tensor<1x8x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>) -> tensor<1x8x128x32xf32>
    ```
  }];
  let arguments = (ins Tern_FloatTensor:$q, Tern_FloatTensor:$k, Tern_FloatTensor:$v,
                   Optional<Tern_FloatTensor>:$mask, F32Attr:$scale,
                   DefaultValuedAttr<BoolAttr, "false">:$causal);
  let results = (outs Tern_FloatTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Tern_SparseMatMul24Op : Tern_Op<"sparse_matmul_2_4"> {
  let summary = "matmul with a 2:4-sparse weight stored packed";
  let description = [{
    Computes a x W^T for W of shape [N, K] (K a multiple of 4) in which each
    group of 4 consecutive elements of a row holds at most 2 non-zeros.
    `values` [N, K/2] holds the kept elements in order; `indices` (ui8,
    [N, K/8]) holds, per group, the two 2-bit positions, two groups a byte,
    low bits first. The kernel reads only the kept values.

    ```mlir
    %y = tern.sparse_matmul_2_4 %a, %vals, %idx : (tensor<1x768xf32>, tensor<3072x384xf32>, tensor<3072x96xui8>) -> tensor<1x3072xf32>
    ```
  }];
  let arguments = (ins Tern_FloatTensor:$a, Tern_Tensor:$values, RankedTensorOf<[UI8]>:$indices);
  let results = (outs Tern_FloatTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Tern_WinogradConvOp : Tern_Op<"winograd_conv"> {
  let summary = "3x3 convolution, stride 1, by Winograd's F(m x m, 3 x 3)";
  let description = [{
    The 2-D convolution of `x` [N, C, H, W] with 3 x 3 filters, stride and
    dilation 1, one group, zero-padded by `pads` (top, left, bottom, right),
    plus `bias` [F]: the result is [N, F, H + top + bottom - 2,
    W + left + right - 2]. `u` holds the filters transformed at compile
    time, [(m + 2)^2, C, F]: u[xi * (m + 2) + nu, c, f] = (G g G^T)[xi, nu]
    for g = w[f, c] (see dialects/Tern/Winograd.h). `tile` is m, 2 or 4;
    output tiles that overhang the result are computed and dropped.

    ```mlir
    %y = tern.winograd_conv %x, %u, %b {tile = 4 : i64, pads = array<i64: 1, 1, 1, 1>}
         : (tensor<1x64x56x56xf32>, tensor<36x64x64xf32>, tensor<64xf32>) -> tensor<1x64x56x56xf32>
    ```
  }];
  let arguments = (ins Tern_FloatTensor:$x, Tern_FloatTensor:$u, Optional<Tern_FloatTensor>:$bias,
                   I64Attr:$tile, DenseI64ArrayAttr:$pads);
  let results = (outs Tern_FloatTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Tern_PointwiseDepthwiseConvOp : Tern_Op<"pointwise_depthwise_conv", [AttrSizedOperandSegments]> {
  let summary = "a pointwise convolution and the depthwise one it feeds, computed in row bands";
  let description = [{
    y = act(dwconv(act_e(conv1x1(x, w_e) + b_e), w) + b): a pointwise
    convolution (`w_e` [E, C, 1, 1], stride 1, no pads) expanding x
    [N, C, H, W] to E channels, its activation (`expand_activation`: none,
    relu or clip between `expand_clip_min` and `expand_clip_max`), then a
    depthwise convolution (`w` [E, 1, KH, KW], group E) with its window
    attributes, bias and activation: an inverted-residual block's first
    two convolutions. The lowering computes both a band of output rows
    and a group of channels at a time, so the expanded tensor
    [N, E, H, W] is never stored whole (see LowerPointwiseDepthwise.cpp).

    ```mlir
    %y = tern.pointwise_depthwise_conv %x, %we, %be, %w, %b {expand_activation = "clip",
           activation = "clip", kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>,
           pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>}
         : (tensor<1x16x112x112xf32>, tensor<96x16x1x1xf32>, tensor<96xf32>, tensor<96x1x3x3xf32>,
            tensor<96xf32>) -> tensor<1x96x56x56xf32>
    ```
  }];
  let arguments = !con((ins Tern_FloatTensor:$x, Tern_FloatTensor:$expand_w, Optional<Tern_FloatTensor>:$expand_bias,
                        Tern_FloatTensor:$w, Optional<Tern_FloatTensor>:$bias,
                        DefaultValuedStrAttr<StrAttr, "none">:$expand_activation,
                        DefaultValuedAttr<F32Attr, "0.0f">:$expand_clip_min,
                        DefaultValuedAttr<F32Attr, "6.0f">:$expand_clip_max),
                       Tern_WindowAttrs, Tern_EpilogueAttrs);
  let results = (outs Tern_FloatTensor:$output);
  let assemblyFormat = [{
    $x `,` $expand_w (`expand_bias` $expand_bias^)? `,` $w (`bias` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

#endif // TERN_FUSED_OPS_TD
