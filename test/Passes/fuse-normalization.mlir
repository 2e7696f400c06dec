// RUN: tern-opt %s --tern-fuse-normalization --split-input-file | FileCheck %s

// Llama's RMSNorm.
// CHECK-LABEL: func.func @rms
// CHECK-NEXT: %[[N:.+]] = tern.normalization %arg0, %arg1 {axis = 2 : i64, epsilon = 9.99999997E-7 : f32, kind = "rms"} : (tensor<?x?x16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
// CHECK-NEXT: return %[[N]]
func.func @rms(%x: tensor<?x?x16xf32>, %w: tensor<16xf32>) -> tensor<?x?x16xf32> {
  %two = tern.constant dense<2.0> : tensor<f32>
  %eps = tern.constant dense<1.0e-6> : tensor<f32>
  %0 = tern.pow %x, %two : (tensor<?x?x16xf32>, tensor<f32>) -> tensor<?x?x16xf32>
  %1 = tern.reduce_mean %0 {axes = array<i64: 2>} : (tensor<?x?x16xf32>) -> tensor<?x?x1xf32>
  %2 = tern.add %1, %eps : (tensor<?x?x1xf32>, tensor<f32>) -> tensor<?x?x1xf32>
  %3 = tern.sqrt %2 : (tensor<?x?x1xf32>) -> tensor<?x?x1xf32>
  %4 = tern.reciprocal %3 : (tensor<?x?x1xf32>) -> tensor<?x?x1xf32>
  %5 = tern.mul %x, %4 : (tensor<?x?x16xf32>, tensor<?x?x1xf32>) -> tensor<?x?x16xf32>
  %6 = tern.mul %w, %5 : (tensor<16xf32>, tensor<?x?x16xf32>) -> tensor<?x?x16xf32>
  return %6 : tensor<?x?x16xf32>
}

// -----

// LayerNorm written out, over the last two dims, with its bias.
// CHECK-LABEL: func.func @layer
// CHECK-NEXT: %[[N:.+]] = tern.normalization %arg0, %arg1, %arg2 {axis = 1 : i64, kind = "layer"} : (tensor<2x4x8xf32>, tensor<4x8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
// CHECK-NEXT: return %[[N]]
func.func @layer(%x: tensor<2x4x8xf32>, %g: tensor<4x8xf32>, %b: tensor<8xf32>) -> tensor<2x4x8xf32> {
  %two = tern.constant dense<2.0> : tensor<f32>
  %eps = tern.constant dense<1.0e-5> : tensor<f32>
  %m = tern.reduce_mean %x {axes = array<i64: 1, 2>} : (tensor<2x4x8xf32>) -> tensor<2x1x1xf32>
  %d = tern.sub %x, %m : (tensor<2x4x8xf32>, tensor<2x1x1xf32>) -> tensor<2x4x8xf32>
  %p = tern.pow %d, %two : (tensor<2x4x8xf32>, tensor<f32>) -> tensor<2x4x8xf32>
  %v = tern.reduce_mean %p {axes = array<i64: 1, 2>} : (tensor<2x4x8xf32>) -> tensor<2x1x1xf32>
  %a = tern.add %v, %eps : (tensor<2x1x1xf32>, tensor<f32>) -> tensor<2x1x1xf32>
  %s = tern.sqrt %a : (tensor<2x1x1xf32>) -> tensor<2x1x1xf32>
  %n = tern.div %d, %s : (tensor<2x4x8xf32>, tensor<2x1x1xf32>) -> tensor<2x4x8xf32>
  %y = tern.mul %n, %g : (tensor<2x4x8xf32>, tensor<4x8xf32>) -> tensor<2x4x8xf32>
  %z = tern.add %y, %b : (tensor<2x4x8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
  return %z : tensor<2x4x8xf32>
}

// -----

// Must not fire: a mean over a leading dim, no keepdims, a scale that
// broadcasts x to a larger shape, and the mean square read elsewhere.
// CHECK-LABEL: func.func @not_normalization
// CHECK-NOT: tern.normalization
func.func @not_normalization(%x: tensor<4x16xf32>, %w: tensor<16xf32>, %big: tensor<3x4x16xf32>)
    -> (tensor<4x16xf32>, tensor<3x4x16xf32>, tensor<4x16xf32>, tensor<4x1xf32>) {
  %two = tern.constant dense<2.0> : tensor<f32>
  %eps = tern.constant dense<1.0e-6> : tensor<f32>
  %0 = tern.pow %x, %two : (tensor<4x16xf32>, tensor<f32>) -> tensor<4x16xf32>
  %1 = tern.reduce_mean %0 {axes = array<i64: 0>} : (tensor<4x16xf32>) -> tensor<1x16xf32>
  %2 = tern.add %1, %eps : (tensor<1x16xf32>, tensor<f32>) -> tensor<1x16xf32>
  %3 = tern.sqrt %2 : (tensor<1x16xf32>) -> tensor<1x16xf32>
  %4 = tern.div %x, %3 : (tensor<4x16xf32>, tensor<1x16xf32>) -> tensor<4x16xf32>
  %5 = tern.mul %4, %w : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %10 = tern.pow %x, %two : (tensor<4x16xf32>, tensor<f32>) -> tensor<4x16xf32>
  %11 = tern.reduce_mean %10 {axes = array<i64: 1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %12 = tern.add %11, %eps : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %13 = tern.sqrt %12 : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %14 = tern.div %x, %13 : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  %15 = tern.mul %14, %big : (tensor<4x16xf32>, tensor<3x4x16xf32>) -> tensor<3x4x16xf32>
  %20 = tern.pow %x, %two : (tensor<4x16xf32>, tensor<f32>) -> tensor<4x16xf32>
  %21 = tern.reduce_mean %20 {axes = array<i64: 1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %22 = tern.add %21, %eps : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %23 = tern.sqrt %22 : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %24 = tern.div %x, %23 : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  %25 = tern.mul %24, %w : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  return %5, %15, %25, %21 : tensor<4x16xf32>, tensor<3x4x16xf32>, tensor<4x16xf32>, tensor<4x1xf32>
}
