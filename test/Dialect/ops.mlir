// RUN: tern-opt %s | tern-opt | FileCheck %s

// Tests that ops print and parse back, with their attributes.
// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%a: tensor<?x4xf32>, %b: tensor<4xf32>, %c: tensor<?x4xi1>) -> tensor<?x4xf32> {
  // CHECK: tern.add %{{.*}}, %{{.*}} : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  %0 = tern.add %a, %b : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  // CHECK: tern.gelu %{{.*}} {approximate = "tanh"}
  %1 = tern.gelu %0 {approximate = "tanh"} : (tensor<?x4xf32>) -> tensor<?x4xf32>
  // CHECK: tern.where
  %2 = tern.where %c, %1, %a : (tensor<?x4xi1>, tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
  return %2 : tensor<?x4xf32>
}

// CHECK-LABEL: func.func @quantized
func.func @quantized(%x: tensor<2x64xf32>, %s: tensor<f32>, %zp: tensor<i8>,
                     %w: tensor<64x2x16xui8>, %ws: tensor<128xf32>) -> tensor<2x64xf32> {
  // CHECK: tern.quantize_linear %{{.*}}, %{{.*}} zero_point %{{.*}}
  %q = tern.quantize_linear %x, %s zero_point %zp {axis = 1 : i64, output_type = i8}
      : (tensor<2x64xf32>, tensor<f32>, tensor<i8>) -> tensor<2x64xi8>
  // CHECK: tern.dequantize_linear
  %d = tern.dequantize_linear %q, %s, %zp {axis = 1 : i64} : (tensor<2x64xi8>, tensor<f32>, tensor<i8>) -> tensor<2x64xf32>
  // CHECK: tern.matmul_nbits %{{.*}}, %{{.*}}, %{{.*}} {block_size = 32 : i64, k = 64 : i64, n = 64 : i64}
  %m = tern.matmul_nbits %d, %w, %ws {k = 64 : i64, n = 64 : i64, bits = 4 : i64, block_size = 32 : i64}
      : (tensor<2x64xf32>, tensor<64x2x16xui8>, tensor<128xf32>) -> tensor<2x64xf32>
  return %m : tensor<2x64xf32>
}

// CHECK-LABEL: func.func @fused
func.func @fused(%q: tensor<1x8x16x32xf32>, %k: tensor<1x2x16x32xf32>, %v: tensor<1x2x16x32xf32>,
                 %x: tensor<1x768xf32>, %vals: tensor<64x384xf32>, %idx: tensor<64x96xui8>)
    -> (tensor<1x8x16x32xf32>, tensor<1x64xf32>) {
  // CHECK: tern.attention {{.*}} {causal = true, scale = 1.250000e-01 : f32}
  %o = tern.attention %q, %k, %v {scale = 0.125 : f32, causal = true}
      : (tensor<1x8x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32>) -> tensor<1x8x16x32xf32>
  // CHECK: tern.sparse_matmul_2_4
  %y = tern.sparse_matmul_2_4 %x, %vals, %idx : (tensor<1x768xf32>, tensor<64x384xf32>, tensor<64x96xui8>) -> tensor<1x64xf32>
  return %o, %y : tensor<1x8x16x32xf32>, tensor<1x64xf32>
}

// The output size follows the pads: 13 + 0 + 2 - 2 rows, 11 + 1 + 1 - 2 columns.
// CHECK-LABEL: func.func @winograd
// CHECK: tern.winograd_conv %arg0, %arg1, %arg2 {pads = array<i64: 0, 1, 2, 1>, tile = 2 : i64} : (tensor<2x8x13x11xf32>, tensor<16x8x24xf32>, tensor<24xf32>) -> tensor<2x24x13x11xf32>
func.func @winograd(%x: tensor<2x8x13x11xf32>, %u: tensor<16x8x24xf32>, %b: tensor<24xf32>) -> tensor<2x24x13x11xf32> {
  %y = tern.winograd_conv %x, %u, %b {tile = 2 : i64, pads = array<i64: 0, 1, 2, 1>}
      : (tensor<2x8x13x11xf32>, tensor<16x8x24xf32>, tensor<24xf32>) -> tensor<2x24x13x11xf32>
  return %y : tensor<2x24x13x11xf32>
}

// CHECK-LABEL: func.func @pointwise_depthwise_conv
// CHECK: tern.pointwise_depthwise_conv %arg0, %arg1 expand_bias %arg2, %arg3 {activation = "relu", dilations = array<i64: 1, 1>, expand_activation = "clip", expand_clip_max = 4.000000e+00 : f32, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<?x4x9x9xf32>, tensor<8x4x1x1xf32>, tensor<8xf32>, tensor<8x1x3x3xf32>) -> tensor<?x8x5x5xf32>
func.func @pointwise_depthwise_conv(%x: tensor<?x4x9x9xf32>, %we: tensor<8x4x1x1xf32>, %be: tensor<8xf32>, %w: tensor<8x1x3x3xf32>) -> tensor<?x8x5x5xf32> {
  %y = tern.pointwise_depthwise_conv %x, %we expand_bias %be, %w {activation = "relu", expand_activation = "clip", expand_clip_max = 4.0 : f32,
         dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>}
       : (tensor<?x4x9x9xf32>, tensor<8x4x1x1xf32>, tensor<8xf32>, tensor<8x1x3x3xf32>) -> tensor<?x8x5x5xf32>
  return %y : tensor<?x8x5x5xf32>
}
