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

// -----

// Tests bert's head split with every dim left dynamic: the target's batch
// and sequence are Shape values of another input whose dims carry the same
// names, and of an op chain from the first (Gather, Add, MatMul keep them).
// The -1 cancels to 12, and the shape operand becomes constant copies so
// that lowering sizes the result from the input's dims.
// CHECK-LABEL: func.func @symbolic_heads
// CHECK-SAME: -> tensor<?x?x12x64xf32>
func.func @symbolic_heads(%ids: tensor<?x?xi64> {tern.dim_names = ["b", "s"]},
                          %types: tensor<?x?xi64> {tern.dim_names = ["b", "s"]},
                          %emb: tensor<100x768xf32>, %w: tensor<768x768xf32>) -> tensor<?x?x?x?xf32> {
  // CHECK: %[[C:.+]] = tern.constant dense<[0, 0, -1, 64]> : tensor<4xi64>
  // CHECK: tern.reshape %{{.*}}, %[[C]] : (tensor<?x?x768xf32>, tensor<4xi64>) -> tensor<?x?x12x64xf32>
  // CHECK-NOT: allowzero
  %x = tern.gather %emb, %ids {axis = 0 : i64} : (tensor<100x768xf32>, tensor<?x?xi64>) -> tensor<?x?x768xf32>
  %y = tern.gather %emb, %types {axis = 0 : i64} : (tensor<100x768xf32>, tensor<?x?xi64>) -> tensor<?x?x768xf32>
  %sum = tern.add %x, %y : (tensor<?x?x768xf32>, tensor<?x?x768xf32>) -> tensor<?x?x768xf32>
  %h = tern.matmul %sum, %w : (tensor<?x?x768xf32>, tensor<768x768xf32>) -> tensor<?x?x768xf32>
  %b = tern.shape %types {start = 0 : i64, end = 1 : i64} : (tensor<?x?xi64>) -> tensor<1xi64>
  %s = tern.shape %types {start = 1 : i64, end = 2 : i64} : (tensor<?x?xi64>) -> tensor<1xi64>
  %m1 = tern.constant dense<-1> : tensor<1xi64>
  %d = tern.constant dense<64> : tensor<1xi64>
  %shape = tern.concat %b, %s, %m1, %d {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4xi64>
  %r = tern.reshape %h, %shape {allowzero = true} : (tensor<?x?x768xf32>, tensor<4xi64>) -> tensor<?x?x?x?xf32>
  return %r : tensor<?x?x?x?xf32>
}

// -----

// Tests that a transpose moves the symbols (the merge back is [s, b, 768]
// of a [s, b, 12, 64] tensor, copies at the same places) and that the
// merge of heads computes no -1 at all.
// CHECK-LABEL: func.func @symbolic_merge
// CHECK-SAME: -> tensor<?x?x768xf32>
func.func @symbolic_merge(%x: tensor<?x?x12x64xf32> {tern.dim_names = ["b", "s"]}) -> tensor<?x?x?xf32> {
  // CHECK: %[[C:.+]] = tern.constant dense<[0, 0, 768]> : tensor<3xi64>
  // CHECK: tern.reshape %{{.*}}, %[[C]] : (tensor<?x?x12x64xf32>, tensor<3xi64>) -> tensor<?x?x768xf32>
  %t = tern.transpose %x {perm = array<i64: 1, 0, 2, 3>} : (tensor<?x?x12x64xf32>) -> tensor<?x?x12x64xf32>
  %s0 = tern.shape %x {start = 1 : i64, end = 2 : i64} : (tensor<?x?x12x64xf32>) -> tensor<1xi64>
  %s1 = tern.shape %x {start = 0 : i64, end = 1 : i64} : (tensor<?x?x12x64xf32>) -> tensor<1xi64>
  %c = tern.constant dense<768> : tensor<1xi64>
  %shape = tern.concat %s0, %s1, %c {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %r = tern.reshape %t, %shape : (tensor<?x?x12x64xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  return %r : tensor<?x?x?xf32>
}

// -----

// Tests the cases where dims must not be taken as equal. (1) Inputs whose
// dims have different names: the sizes do not cancel, the -1 stays dynamic
// and the shape operand stays. (2) A name repeated within one input is not
// checked at run time, so it names nothing. (3) A dim that matches but at
// another index cannot be a copy: the type is refined, the operand stays.
// CHECK-LABEL: func.func @symbolic_must_not
func.func @symbolic_must_not(%x: tensor<?x?x768xf32> {tern.dim_names = ["b", "s"]},
                             %y: tensor<?x?xi64> {tern.dim_names = ["b", "t"]},
                             %z: tensor<?x?xi64> {tern.dim_names = ["s", "s"]})
    -> (tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?xf32>) {
  %m1 = tern.constant dense<-1> : tensor<1xi64>
  %d = tern.constant dense<64> : tensor<1xi64>
  %yb = tern.shape %y {start = 0 : i64, end = 1 : i64} : (tensor<?x?xi64>) -> tensor<1xi64>
  %yt = tern.shape %y {start = 1 : i64, end = 2 : i64} : (tensor<?x?xi64>) -> tensor<1xi64>
  // CHECK: %[[S1:.+]] = tern.concat
  // CHECK: tern.reshape %{{.*}}, %[[S1]] : (tensor<?x?x768xf32>, tensor<4xi64>) -> tensor<?x?x?x64xf32>
  %s1 = tern.concat %yb, %yt, %m1, %d {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4xi64>
  %r1 = tern.reshape %x, %s1 : (tensor<?x?x768xf32>, tensor<4xi64>) -> tensor<?x?x?x?xf32>
  %zs = tern.shape %z {start = 1 : i64, end = 2 : i64} : (tensor<?x?xi64>) -> tensor<1xi64>
  // CHECK: %[[S2:.+]] = tern.concat
  // CHECK: tern.reshape %{{.*}}, %[[S2]] : (tensor<?x?x768xf32>, tensor<4xi64>) -> tensor<?x?x?x64xf32>
  %s2 = tern.concat %yb, %zs, %m1, %d {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4xi64>
  %r2 = tern.reshape %x, %s2 : (tensor<?x?x768xf32>, tensor<4xi64>) -> tensor<?x?x?x?xf32>
  %xb = tern.shape %x {start = 0 : i64, end = 1 : i64} : (tensor<?x?x768xf32>) -> tensor<1xi64>
  %xs = tern.shape %x {start = 1 : i64, end = 2 : i64} : (tensor<?x?x768xf32>) -> tensor<1xi64>
  // CHECK: %[[S3:.+]] = tern.concat
  // CHECK: tern.reshape %{{.*}}, %[[S3]] : (tensor<?x?x768xf32>, tensor<3xi64>) -> tensor<?x?x768xf32>
  %s3 = tern.concat %xs, %xb, %m1 {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %r3 = tern.reshape %x, %s3 : (tensor<?x?x768xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  return %r1, %r2, %r3 : tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?xf32>
}
