// RUN: tern-opt %s -split-input-file -tern-infer-shapes | FileCheck %s

// Tests that pinned argument shapes flow through the body and the
// function's result type.
// CHECK-LABEL: func.func @refine
// CHECK-SAME: -> tensor<1x8x16xf32>
func.func @refine(%x: tensor<1x8xf32>, %w: tensor<8x16xf32>) -> tensor<?x?x?xf32> {
  %s = tern.constant dense<[1, 8, 16]> : tensor<3xi64>
  // CHECK: tern.matmul {{.*}} -> tensor<1x16xf32>
  %0 = tern.matmul %x, %w : (tensor<1x8xf32>, tensor<8x16xf32>) -> tensor<?x?xf32>
  // CHECK: tern.expand {{.*}} -> tensor<1x8x16xf32>
  %1 = tern.expand %0, %s : (tensor<?x?xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  return %1 : tensor<?x?x?xf32>
}

// -----

// Tests that shape arithmetic folds once its input became static: the
// reshape's target is computed from the input's own dims, so its result type
// is only static if shape, gather and mul fold.
// CHECK-LABEL: func.func @fold_after_refine
// CHECK-SAME: -> tensor<6xf32>
func.func @fold_after_refine(%x: tensor<2x3xf32>) -> tensor<?xf32> {
  // CHECK-NOT: tern.shape
  // CHECK-NOT: tern.gather
  // CHECK-NOT: tern.mul
  // CHECK: %[[N:.+]] = tern.constant dense<6> : tensor<1xi64>
  // CHECK: tern.reshape %{{.*}}, %[[N]] : (tensor<2x3xf32>, tensor<1xi64>) -> tensor<6xf32>
  %s = tern.shape %x {start = 0 : i64, end = 2 : i64} : (tensor<2x3xf32>) -> tensor<2xi64>
  %i0 = tern.constant dense<[0]> : tensor<1xi64>
  %i1 = tern.constant dense<[-1]> : tensor<1xi64>
  %a = tern.gather %s, %i0 {axis = 0 : i64} : (tensor<2xi64>, tensor<1xi64>) -> tensor<1xi64>
  %b = tern.gather %s, %i1 {axis = 0 : i64} : (tensor<2xi64>, tensor<1xi64>) -> tensor<1xi64>
  %n = tern.mul %a, %b : (tensor<1xi64>, tensor<1xi64>) -> tensor<1xi64>
  %r = tern.reshape %x, %n : (tensor<2x3xf32>, tensor<1xi64>) -> tensor<?xf32>
  return %r : tensor<?xf32>
}

// -----

// Tests that a dynamic input keeps dynamic dims (the pass must not invent
// static ones).
// CHECK-LABEL: func.func @stays_dynamic
// CHECK-SAME: -> tensor<?x4xf32>
func.func @stays_dynamic(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %0 = tern.relu %x : (tensor<?x4xf32>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}
