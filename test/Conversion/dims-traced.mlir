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

// A reshape whose shape operand is constant copies and static dims (what
// tern-infer-shapes makes of bert's head split and merge) collapses and
// expands only the static tails: the copied dims stay the input's, no
// shape is read back at run time, no reshape goes through a shape tensor.
// CHECK-LABEL: func.func @copied_dims
// CHECK-NOT: tensor.reshape
// CHECK-NOT: tensor.extract
// CHECK: %[[B:.+]] = tensor.dim %arg0, %c0
// CHECK: %[[S:.+]] = tensor.dim %arg0, %c1
// CHECK: tensor.expand_shape %arg0 {{\[\[}}0], [1], [2, 3]] output_shape [%[[B]], %[[S]], 12, 64]
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] : tensor<?x?x12x64xf32> into tensor<?x?x768xf32>
// CHECK-NOT: tensor.reshape
// CHECK: return
func.func @copied_dims(%x: tensor<?x?x768xf32>) -> tensor<?x?x768xf32> {
  %split = tern.constant dense<[0, 0, -1, 64]> : tensor<4xi64>
  %merge = tern.constant dense<[0, 0, 768]> : tensor<3xi64>
  %h = tern.reshape %x, %split : (tensor<?x?x768xf32>, tensor<4xi64>) -> tensor<?x?x12x64xf32>
  %r = tern.relu %h : (tensor<?x?x12x64xf32>) -> tensor<?x?x12x64xf32>
  %m = tern.reshape %r, %merge : (tensor<?x?x12x64xf32>, tensor<3xi64>) -> tensor<?x?x768xf32>
  return %m : tensor<?x?x768xf32>
}

// A -1 in a constant shape is the product of the input's dims it stands
// for ([b, s, 768] -> [-1, 768] is b x s, a size tern-plan-memory scales
// the arena with), not a division of the total read back at run time.
// CHECK-LABEL: func.func @flattened
// CHECK-DAG: %[[B:.+]] = tensor.dim %arg0, %c0
// CHECK-DAG: %[[S:.+]] = tensor.dim %arg0, %c1
// CHECK-NOT: arith.divui
// CHECK: %[[BS:.+]] = arith.muli {{%[a-z_0-9]+}}, {{%[a-z_0-9]+}} : index
// CHECK-NOT: arith.divui
// CHECK: tensor.empty(%[[BS]]) : tensor<?x768xf32>
func.func @flattened(%x: tensor<?x?x768xf32>) -> tensor<?x768xf32> {
  %flat = tern.constant dense<[-1, 768]> : tensor<2xi64>
  %f = tern.reshape %x, %flat : (tensor<?x?x768xf32>, tensor<2xi64>) -> tensor<?x768xf32>
  %r = tern.relu %f : (tensor<?x768xf32>) -> tensor<?x768xf32>
  return %r : tensor<?x768xf32>
}
