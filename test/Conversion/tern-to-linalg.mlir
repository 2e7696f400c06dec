// RUN: tern-opt %s --tern-to-linalg --split-input-file | FileCheck %s
// RUN: tern-opt %s --tern-to-linalg --split-input-file 2>&1 | FileCheck %s --check-prefix=NONE
// NONE-NOT: tern.

// An elementwise op: one linalg.generic; a dynamic dim is read at run time.
// CHECK-LABEL: func.func @relu
// CHECK: %[[D:.+]] = tensor.dim %arg0, %c0 : tensor<?x4xf32>
// CHECK: %[[E:.+]] = tensor.empty(%[[D]]) : tensor<?x4xf32>
// CHECK: linalg.generic {{.*}} ins(%arg0 : tensor<?x4xf32>) outs(%[[E]] : tensor<?x4xf32>)
// CHECK: arith.maximumf
func.func @relu(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %0 = tern.relu %x : (tensor<?x4xf32>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

// Broadcasting is in the indexing maps, not a materialized copy.
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @add_broadcast
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]]
// CHECK: arith.addf
func.func @add_broadcast(%x: tensor<2x3xf32>, %y: tensor<3xf32>) -> tensor<2x3xf32> {
  %0 = tern.add %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// Unsigned tensors become signless; the op picks the unsigned instruction.
// CHECK-LABEL: func.func @unsigned_max(%arg0: tensor<4xi8>, %arg1: tensor<4xi8>) -> tensor<4xi8>
// CHECK: arith.maxui
func.func @unsigned_max(%x: tensor<4xui8>, %y: tensor<4xui8>) -> tensor<4xui8> {
  %0 = tern.max %x, %y : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xui8>
  return %0 : tensor<4xui8>
}

// -----

// A matmul by a matrix folds the batch dims into M: one linalg.matmul.
// CHECK-LABEL: func.func @matmul
// CHECK: tensor.collapse_shape %arg0 {{\[\[}}0, 1], [2]] : tensor<?x8x16xf32> into tensor<?x16xf32>
// CHECK: linalg.matmul ins(%{{.+}}, %arg1 : tensor<?x16xf32>, tensor<16x32xf32>)
// CHECK: tensor.expand_shape
func.func @matmul(%a: tensor<?x8x16xf32>, %b: tensor<16x32xf32>) -> tensor<?x8x32xf32> {
  %0 = tern.matmul %a, %b : (tensor<?x8x16xf32>, tensor<16x32xf32>) -> tensor<?x8x32xf32>
  return %0 : tensor<?x8x32xf32>
}

// -----

// A kept reduced dim comes back through expand_shape.
// CHECK-LABEL: func.func @reduce
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: tensor.expand_shape %{{.+}} {{\[\[}}0, 1]] output_shape [2, 1] : tensor<2xf32> into tensor<2x1xf32>
func.func @reduce(%x: tensor<2x3xf32>) -> tensor<2x1xf32> {
  %0 = tern.reduce_sum %x {axes = array<i64: 1>, keepdims = true} : (tensor<2x3xf32>) -> tensor<2x1xf32>
  return %0 : tensor<2x1xf32>
}

// -----

// Slices with positive steps are views.
// CHECK-LABEL: func.func @slice
// CHECK: tensor.extract_slice %arg0[%{{.+}}] [4] [2] : tensor<10xf32> to tensor<4xf32>
func.func @slice(%x: tensor<10xf32>) -> tensor<4xf32> {
  %s = tern.constant dense<1> : tensor<1xi64>
  %e = tern.constant dense<9> : tensor<1xi64>
  %a = tern.constant dense<0> : tensor<1xi64>
  %t = tern.constant dense<2> : tensor<1xi64>
  %0 = tern.slice %x, %s, %e, %a, %t : (tensor<10xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// A convolution of one image without groups is a matmul; a pointwise one
// reads its input directly, others gather patches (im2col) first.
// CHECK-LABEL: func.func @conv_pointwise
// CHECK: tensor.collapse_shape %arg0 {{\[\[}}0, 1], [2, 3]] : tensor<1x8x4x4xf32> into tensor<8x16xf32>
// CHECK: linalg.matmul ins(%{{.+}}, %{{.+}} : tensor<16x8xf32>, tensor<8x16xf32>)
func.func @conv_pointwise(%x: tensor<1x8x4x4xf32>, %w: tensor<16x8x1x1xf32>) -> tensor<1x16x4x4xf32> {
  %0 = tern.conv %x, %w {kernel_shape = array<i64: 1, 1>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64}
      : (tensor<1x8x4x4xf32>, tensor<16x8x1x1xf32>) -> tensor<1x16x4x4xf32>
  return %0 : tensor<1x16x4x4xf32>
}

// -----

// A 1x1 convolution of stride 2 without pads: pointwise on every second
// position (a strided slice), not a window read through a map.
// CHECK-LABEL: func.func @conv_pointwise_strided
// CHECK: %[[SUB:.+]] = tensor.extract_slice %arg0[0, 0, 0, 0] [1, 8, 3, 2] [1, 1, 2, 2] : tensor<1x8x5x4xf32> to tensor<1x8x3x2xf32>
// CHECK: tensor.collapse_shape %[[SUB]] {{\[\[}}0, 1], [2, 3]] : tensor<1x8x3x2xf32> into tensor<8x6xf32>
// CHECK: linalg.matmul ins(%{{.+}}, %{{.+}} : tensor<16x8xf32>, tensor<8x6xf32>)
func.func @conv_pointwise_strided(%x: tensor<1x8x5x4xf32>, %w: tensor<16x8x1x1xf32>) -> tensor<1x16x3x2xf32> {
  %0 = tern.conv %x, %w {kernel_shape = array<i64: 1, 1>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64}
      : (tensor<1x8x5x4xf32>, tensor<16x8x1x1xf32>) -> tensor<1x16x3x2xf32>
  return %0 : tensor<1x16x3x2xf32>
}

// -----

// A float convolution with a window reads the padded input in place
// through its map (no patches): out^T[o, f] over loops (oh, ow, f, c, kh,
// kw), then transposed back.
// CHECK-LABEL: func.func @conv_3x3
// CHECK: tensor.pad
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%{{.+}}, %arg1 : tensor<1x8x6x6xf32>, tensor<16x8x3x3xf32>) outs(%{{.+}} : tensor<4x4x16xf32>)
// CHECK: linalg.generic {{.*}}ins(%{{.+}} : tensor<4x4x16xf32>) outs(%{{.+}} : tensor<1x16x4x4xf32>)
// CHECK-NOT: linalg.matmul
func.func @conv_3x3(%x: tensor<1x8x4x4xf32>, %w: tensor<16x8x3x3xf32>) -> tensor<1x16x4x4xf32> {
  %0 = tern.conv %x, %w {kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64}
      : (tensor<1x8x4x4xf32>, tensor<16x8x3x3xf32>) -> tensor<1x16x4x4xf32>
  return %0 : tensor<1x16x4x4xf32>
}

// -----

// Must not become a matmul: grouped (depthwise) convolutions. A depthwise
// one is all-parallel: one strided slice of the padded input per tap (9
// here, stride 2), each multiplied by its weight, no reduction loops. A
// grouped convolution with 2 input channels per group keeps its reduction.
// Two images: the pointwise contraction with an image loop (@conv_batched).
// CHECK-LABEL: func.func @conv_depthwise
// CHECK-NOT: linalg.matmul
// CHECK: tensor.pad
// CHECK-COUNT-9: tensor.extract_slice %{{.+}}[0, 0, {{[0-2]}}, {{[0-2]}}] [1, 8, 2, 2] [1, 1, 2, 2] : tensor<1x8x6x6xf32> to tensor<1x8x2x2xf32>
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK-COUNT-9: arith.mulf
// CHECK: } -> tensor<1x8x2x2xf32>
// CHECK: linalg.generic {{.*}}ins(%{{.+}}, %{{.+}} : tensor<16x8xf32>, tensor<2x8x16xf32>) outs(%{{.+}} : tensor<2x16x16xf32>)
// CHECK: linalg.generic {{.*}}"reduction"
func.func @conv_depthwise(%x: tensor<1x8x4x4xf32>, %w: tensor<8x1x3x3xf32>, %y: tensor<2x8x4x4xf32>, %v: tensor<16x8x1x1xf32>,
                          %g: tensor<8x2x3x3xf32>) -> (tensor<1x8x2x2xf32>, tensor<2x16x4x4xf32>, tensor<1x8x4x4xf32>) {
  %0 = tern.conv %x, %w {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 8 : i64}
      : (tensor<1x8x4x4xf32>, tensor<8x1x3x3xf32>) -> tensor<1x8x2x2xf32>
  %1 = tern.conv %y, %v {kernel_shape = array<i64: 1, 1>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64}
      : (tensor<2x8x4x4xf32>, tensor<16x8x1x1xf32>) -> tensor<2x16x4x4xf32>
  %2 = tern.conv %x, %g {kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 4 : i64}
      : (tensor<1x8x4x4xf32>, tensor<8x2x3x3xf32>) -> tensor<1x8x4x4xf32>
  return %0, %1, %2 : tensor<1x8x2x2xf32>, tensor<2x16x4x4xf32>, tensor<1x8x4x4xf32>
}

// -----

// Pools with a small window are all-parallel too: a max over the 9 strided
// slices of the padded input (padded with -inf), no reduction loops. A
// window of more than 49 taps (8 x 8 here) keeps the reduction form.
// CHECK-LABEL: func.func @pools
// CHECK: tensor.pad
// CHECK: 0xFF800000
// CHECK-COUNT-9: tensor.extract_slice %{{.+}}[0, 0, {{[0-2]}}, {{[0-2]}}] [1, 4, 3, 3] [1, 1, 2, 2] : tensor<1x4x8x8xf32> to tensor<1x4x3x3xf32>
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK-COUNT-9: arith.maximumf
// CHECK: } -> tensor<1x4x3x3xf32>
// CHECK: linalg.generic {{.*}}"reduction", "reduction"
// CHECK: arith.maximumf
// CHECK: } -> tensor<1x4x1x1xf32>
func.func @pools(%x: tensor<1x4x6x6xf32>, %y: tensor<1x4x8x8xf32>) -> (tensor<1x4x3x3xf32>, tensor<1x4x1x1xf32>) {
  %0 = tern.max_pool %x {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>}
      : (tensor<1x4x6x6xf32>) -> tensor<1x4x3x3xf32>
  %1 = tern.max_pool %y {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 8, 8>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>}
      : (tensor<1x4x8x8xf32>) -> tensor<1x4x1x1xf32>
  return %0, %1 : tensor<1x4x3x3xf32>, tensor<1x4x1x1xf32>
}

// -----

// RMS normalization: a sum of squares over the last dim, then one
// elementwise op with the reciprocal square root and the scale.
// CHECK-LABEL: func.func @rms_normalization
// CHECK: arith.mulf
// CHECK: linalg.generic {{.*}}"reduction"
// CHECK: math.rsqrt
// CHECK: } -> tensor<2x8xf32>
func.func @rms_normalization(%x: tensor<2x8xf32>, %w: tensor<8xf32>) -> tensor<2x8xf32> {
  %0 = tern.normalization %x, %w {kind = "rms", axis = 1 : i64, epsilon = 1.0e-6 : f32} : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

// A pointwise convolution on a 7x7 map (49 output columns, 30% of two
// 32-column panels wasted) with 32 filters computes out^T [49, 32] =
// x^T x w^T, then transposes back.
// CHECK-LABEL: func.func @conv_small_map
// CHECK: linalg.generic {{.*}}ins(%{{.+}}, %{{.+}} : tensor<8x49xf32>, tensor<32x8xf32>) outs(%{{.+}} : tensor<49x32xf32>)
// CHECK: linalg.generic {{.*}}ins(%{{.+}} : tensor<49x32xf32>) outs(%{{.+}} : tensor<32x49xf32>)
// CHECK: tensor.expand_shape {{.*}} into tensor<1x32x7x7xf32>
func.func @conv_small_map(%x: tensor<1x8x7x7xf32>, %w: tensor<32x8x1x1xf32>) -> tensor<1x32x7x7xf32> {
  %0 = tern.conv %x, %w {kernel_shape = array<i64: 1, 1>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64}
      : (tensor<1x8x7x7xf32>, tensor<32x8x1x1xf32>) -> tensor<1x32x7x7xf32>
  return %0 : tensor<1x32x7x7xf32>
}

// -----

// Images counted at run time (or several) take the one-image forms with an
// image loop first, never the generic convolution: a window read in place
// (loops image, oh, ow, f, c, kh, kw), a pointwise convolution with the
// filters as A and each image as B, a small map's transposed product, a
// strided pointwise one on its subsample.
// CHECK-LABEL: func.func @conv_batched
// CHECK: %[[N:.+]] = tensor.dim %arg0, %c0
// CHECK: tensor.pad %arg0 low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%{{.+}}, %arg1 : tensor<?x8x6x6xf32>, tensor<16x8x3x3xf32>) outs(%{{.+}} : tensor<?x4x4x16xf32>)
// CHECK: linalg.generic {{.*}}ins(%{{.+}} : tensor<?x4x4x16xf32>) outs(%{{.+}} : tensor<?x16x4x4xf32>)
// CHECK: tensor.collapse_shape %arg0 {{\[\[}}0], [1], [2, 3]] : tensor<?x8x4x4xf32> into tensor<?x8x16xf32>
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%{{.+}}, %{{.+}} : tensor<16x8xf32>, tensor<?x8x16xf32>) outs(%{{.+}} : tensor<?x16x16xf32>)
// CHECK: tensor.expand_shape %{{.+}} {{\[\[}}0], [1], [2, 3]] output_shape [%{{.+}}, 16, 4, 4]
// CHECK: linalg.generic {{.*}}ins(%{{.+}}, %{{.+}} : tensor<?x8x49xf32>, tensor<32x8xf32>) outs(%{{.+}} : tensor<?x49x32xf32>)
// CHECK: linalg.generic {{.*}}ins(%{{.+}} : tensor<?x49x32xf32>) outs(%{{.+}} : tensor<?x32x49xf32>)
// CHECK: tensor.extract_slice %arg0[0, 0, 0, 0] [%{{.+}}, 8, 2, 2] [1, 1, 2, 2]
// CHECK: linalg.generic {{.*}}ins(%{{.+}}, %{{.+}} : tensor<16x8xf32>, tensor<?x8x4xf32>) outs(%{{.+}} : tensor<?x16x4xf32>)
// CHECK-NOT: linalg.matmul
func.func @conv_batched(%x: tensor<?x8x4x4xf32>, %w: tensor<16x8x3x3xf32>, %v: tensor<16x8x1x1xf32>, %y: tensor<?x8x7x7xf32>, %u: tensor<32x8x1x1xf32>, %b: tensor<16xf32>)
    -> (tensor<?x16x4x4xf32>, tensor<?x16x4x4xf32>, tensor<?x32x7x7xf32>, tensor<?x16x2x2xf32>) {
  %0 = tern.conv %x, %w, %b {kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64}
      : (tensor<?x8x4x4xf32>, tensor<16x8x3x3xf32>, tensor<16xf32>) -> tensor<?x16x4x4xf32>
  %1 = tern.conv %x, %v {kernel_shape = array<i64: 1, 1>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64}
      : (tensor<?x8x4x4xf32>, tensor<16x8x1x1xf32>) -> tensor<?x16x4x4xf32>
  %2 = tern.conv %y, %u {kernel_shape = array<i64: 1, 1>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64}
      : (tensor<?x8x7x7xf32>, tensor<32x8x1x1xf32>) -> tensor<?x32x7x7xf32>
  %3 = tern.conv %x, %v {kernel_shape = array<i64: 1, 1>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64}
      : (tensor<?x8x4x4xf32>, tensor<16x8x1x1xf32>) -> tensor<?x16x2x2xf32>
  return %0, %1, %2, %3 : tensor<?x16x4x4xf32>, tensor<?x16x4x4xf32>, tensor<?x32x7x7xf32>, tensor<?x16x2x2xf32>
}
