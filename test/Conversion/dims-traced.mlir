// RUN: tern-opt %s --tern-to-linalg --canonicalize | FileCheck %s

// Every size known only at run time is traced to where it comes from (the
// input's dim), however the lowerings asked for it: a residual add of two
// pointwise convolutions' results (each an expand_shape of a contraction
// over the image's positions) reads one value, not max(n1, n2) of dims of
// its operands, which the later passes cannot tell equal (they then kept a
// convolution's result beside its fused residual add's output).
// CHECK-LABEL: func.func @residual
// CHECK: %[[N:.+]] = tensor.dim %arg0, %c0
// CHECK-NOT: tensor.dim
// CHECK-NOT: arith.maxui
// CHECK: tensor.empty(%[[N]]) : tensor<?x16x4x4xf32>
// CHECK-NOT: tensor.dim
// CHECK-NOT: arith.maxui
// CHECK: return
func.func @residual(%x: tensor<?x8x4x4xf32>, %v: tensor<16x8x1x1xf32>, %u: tensor<16x8x1x1xf32>) -> tensor<?x16x4x4xf32> {
  %a = tern.conv %x, %v {kernel_shape = array<i64: 1, 1>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64}
      : (tensor<?x8x4x4xf32>, tensor<16x8x1x1xf32>) -> tensor<?x16x4x4xf32>
  %b = tern.conv %x, %u {kernel_shape = array<i64: 1, 1>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64}
      : (tensor<?x8x4x4xf32>, tensor<16x8x1x1xf32>) -> tensor<?x16x4x4xf32>
  %c = tern.add %a, %b : (tensor<?x16x4x4xf32>, tensor<?x16x4x4xf32>) -> tensor<?x16x4x4xf32>
  return %c : tensor<?x16x4x4xf32>
}

// Dims of two inputs with the same name are one value: the runtime checks
// that they agree (bert's input_ids, attention_mask and token_type_ids
// share [batch, sequence]).
// CHECK-LABEL: func.func @same_name
// CHECK: %[[N:.+]] = tensor.dim %arg0, %c0
// CHECK-NOT: tensor.dim
// CHECK-NOT: arith.maxui
// CHECK: return
func.func @same_name(%x: tensor<?x4xf32> {tern.dim_names = ["batch", ""]},
                     %y: tensor<?x4xf32> {tern.dim_names = ["batch", ""]}) -> tensor<?x4xf32> {
  %a = tern.relu %x : (tensor<?x4xf32>) -> tensor<?x4xf32>
  %b = tern.relu %y : (tensor<?x4xf32>) -> tensor<?x4xf32>
  %c = tern.add %a, %b : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
  return %c : tensor<?x4xf32>
}

// Must not: dims of different names, or of no name, may differ (the add
// broadcasts one against the other at run time).
// CHECK-LABEL: func.func @other_names
// CHECK-COUNT-2: tensor.dim
// CHECK: arith.maxui
func.func @other_names(%x: tensor<?x4xf32> {tern.dim_names = ["n", ""]},
                       %y: tensor<?x4xf32> {tern.dim_names = ["m", ""]}) -> tensor<?x4xf32> {
  %c = tern.add %x, %y : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
  return %c : tensor<?x4xf32>
}
