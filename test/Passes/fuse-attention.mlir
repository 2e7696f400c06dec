// RUN: tern-opt %s --tern-fuse-attention --split-input-file | FileCheck %s

// GPT-2's attention: k^T a Transpose of the [B, L, H, D] projection, the
// scale a Mul, a mask [1, 1, S, L] added. k becomes one transpose of the
// projection to [B, H, L, D].
// CHECK-LABEL: func.func @gpt2
// CHECK: %[[K:.+]] = tern.transpose %arg1 {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x8x4x16xf32>) -> tensor<1x4x8x16xf32>
// CHECK-NEXT: %[[O:.+]] = tern.attention %arg0, %[[K]], %arg2, %arg3 {scale = 2.500000e-01 : f32} : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x1x8x8xf32>) -> tensor<1x4x8x16xf32>
// CHECK-NEXT: return %[[O]]
func.func @gpt2(%q: tensor<1x4x8x16xf32>, %kp: tensor<1x8x4x16xf32>, %v: tensor<1x4x8x16xf32>,
                %mask: tensor<1x1x8x8xf32>) -> tensor<1x4x8x16xf32> {
  %c = tern.constant dense<0.25> : tensor<f32>
  %kt = tern.transpose %kp {perm = array<i64: 0, 2, 3, 1>} : (tensor<1x8x4x16xf32>) -> tensor<1x4x16x8xf32>
  %s = tern.matmul %q, %kt : (tensor<1x4x8x16xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x8x8xf32>
  %s2 = tern.mul %s, %c : (tensor<1x4x8x8xf32>, tensor<f32>) -> tensor<1x4x8x8xf32>
  %s3 = tern.add %s2, %mask : (tensor<1x4x8x8xf32>, tensor<1x1x8x8xf32>) -> tensor<1x4x8x8xf32>
  %p = tern.softmax %s3 {axis = 3 : i64} : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %o = tern.matmul %p, %v : (tensor<1x4x8x8xf32>, tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

// Llama's grouped-query attention: keys and values repeated from 2 to 8
// heads (Unsqueeze, Expand, Reshape) are read from their 2 heads; k^T a
// transpose of the repeated k; the mask added on the left.
// CHECK-LABEL: func.func @gqa
// CHECK: %[[O:.+]] = tern.attention %arg0, %arg1, %arg2, %arg3 {scale = 1.250000e-01 : f32} : (tensor<1x8x4x16xf32>, tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>, tensor<1x1x4x4xf32>) -> tensor<1x8x4x16xf32>
// CHECK-NEXT: return %[[O]]
func.func @gqa(%q: tensor<1x8x4x16xf32>, %k: tensor<1x2x4x16xf32>, %v: tensor<1x2x4x16xf32>,
               %mask: tensor<1x1x4x4xf32>) -> tensor<1x8x4x16xf32> {
  %c = tern.constant dense<0.125> : tensor<f32>
  %shape5 = tern.constant dense<[1, 2, 4, 4, 16]> : tensor<5xi64>
  %shape4 = tern.constant dense<[1, 8, 4, 16]> : tensor<4xi64>
  %ku = tern.unsqueeze %k {axes = array<i64: 2>} : (tensor<1x2x4x16xf32>) -> tensor<1x2x1x4x16xf32>
  %ke = tern.expand %ku, %shape5 : (tensor<1x2x1x4x16xf32>, tensor<5xi64>) -> tensor<1x2x4x4x16xf32>
  %kr = tern.reshape %ke, %shape4 : (tensor<1x2x4x4x16xf32>, tensor<4xi64>) -> tensor<1x8x4x16xf32>
  %vu = tern.unsqueeze %v {axes = array<i64: 2>} : (tensor<1x2x4x16xf32>) -> tensor<1x2x1x4x16xf32>
  %ve = tern.expand %vu, %shape5 : (tensor<1x2x1x4x16xf32>, tensor<5xi64>) -> tensor<1x2x4x4x16xf32>
  %vr = tern.reshape %ve, %shape4 : (tensor<1x2x4x4x16xf32>, tensor<4xi64>) -> tensor<1x8x4x16xf32>
  %kt = tern.transpose %kr {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x8x4x16xf32>) -> tensor<1x8x16x4xf32>
  %s = tern.matmul %q, %kt : (tensor<1x8x4x16xf32>, tensor<1x8x16x4xf32>) -> tensor<1x8x4x4xf32>
  %s2 = tern.mul %c, %s : (tensor<f32>, tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  %s3 = tern.add %mask, %s2 : (tensor<1x1x4x4xf32>, tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  %p = tern.softmax %s3 {axis = 3 : i64} : (tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  %o = tern.matmul %p, %vr : (tensor<1x8x4x4xf32>, tensor<1x8x4x16xf32>) -> tensor<1x8x4x16xf32>
  return %o : tensor<1x8x4x16xf32>
}

// -----

// BERT-style division by sqrt(d), no mask; k^T given as it is (no
// transpose to fold): k is a new transpose of it.
// CHECK-LABEL: func.func @div_no_mask
// CHECK: %[[K:.+]] = tern.transpose %arg1 {perm = array<i64: 0, 1, 3, 2>}
// CHECK-NEXT: tern.attention %arg0, %[[K]], %arg2 {scale = 1.250000e-01 : f32}
func.func @div_no_mask(%q: tensor<2x2x4x16xf32>, %kt: tensor<2x2x16x6xf32>, %v: tensor<2x2x6x8xf32>) -> tensor<2x2x4x8xf32> {
  %c = tern.constant dense<8.0> : tensor<f32>
  %s = tern.matmul %q, %kt : (tensor<2x2x4x16xf32>, tensor<2x2x16x6xf32>) -> tensor<2x2x4x6xf32>
  %s2 = tern.div %s, %c : (tensor<2x2x4x6xf32>, tensor<f32>) -> tensor<2x2x4x6xf32>
  %p = tern.softmax %s2 {axis = 3 : i64} : (tensor<2x2x4x6xf32>) -> tensor<2x2x4x6xf32>
  %o = tern.matmul %p, %v : (tensor<2x2x4x6xf32>, tensor<2x2x6x8xf32>) -> tensor<2x2x4x8xf32>
  return %o : tensor<2x2x4x8xf32>
}

// -----

// Must not fire: the softmax along another dim; the scores read elsewhere;
// dynamic shapes; keys broadcast over heads by the matmul.
// CHECK-LABEL: func.func @left
// CHECK-NOT: tern.attention
// CHECK-COUNT-4: tern.softmax
// CHECK-NOT: tern.attention
func.func @left(%q: tensor<1x2x4x8xf32>, %kt: tensor<1x2x8x4xf32>, %v: tensor<1x2x4x8xf32>,
                %qd: tensor<?x2x4x8xf32>, %ktd: tensor<?x2x8x4xf32>, %vd: tensor<?x2x4x8xf32>,
                %kt1: tensor<1x1x8x4xf32>)
    -> (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x4xf32>, tensor<?x2x4x8xf32>, tensor<1x2x4x8xf32>) {
  %s = tern.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %p = tern.softmax %s {axis = 2 : i64} : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %o = tern.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  %s1 = tern.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %p1 = tern.softmax %s1 {axis = 3 : i64} : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %o1 = tern.matmul %p1, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  %sd = tern.matmul %qd, %ktd : (tensor<?x2x4x8xf32>, tensor<?x2x8x4xf32>) -> tensor<?x2x4x4xf32>
  %pd = tern.softmax %sd {axis = 3 : i64} : (tensor<?x2x4x4xf32>) -> tensor<?x2x4x4xf32>
  %od = tern.matmul %pd, %vd : (tensor<?x2x4x4xf32>, tensor<?x2x4x8xf32>) -> tensor<?x2x4x8xf32>
  %sb = tern.matmul %q, %kt1 : (tensor<1x2x4x8xf32>, tensor<1x1x8x4xf32>) -> tensor<1x2x4x4xf32>
  %pb = tern.softmax %sb {axis = 3 : i64} : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %ob = tern.matmul %pb, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o, %o1, %s1, %od, %ob : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x4xf32>, tensor<?x2x4x8xf32>, tensor<1x2x4x8xf32>
}
