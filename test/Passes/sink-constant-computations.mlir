// RUN: tern-opt %s --tern-sink-constant-computations | FileCheck %s

// The weights' DequantizeLinear (and a Transpose of it), listed at the top
// as QDQ exports have them, move to just before the matmul that reads them;
// the op that reads the model's input stays first, and so does one whose
// first user comes right after it.
// CHECK-LABEL: func.func @sink
// CHECK: %[[X:.+]] = tern.relu %arg0
// CHECK: %[[N:.+]] = tern.neg %{{.+}}
// CHECK: tern.add %[[X]], %[[N]]
// CHECK: %[[D:.+]] = tern.dequantize_linear
// CHECK-NEXT: %[[T:.+]] = tern.transpose %[[D]]
// CHECK-NEXT: tern.matmul %{{.+}}, %[[T]]
func.func @sink(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %w = tern.constant dense<1> : tensor<4x4xi8>
  %s = tern.constant dense<0.5> : tensor<f32>
  %z = tern.constant dense<0> : tensor<i8>
  %c = tern.constant dense<2.0> : tensor<2x4xf32>
  %d = tern.dequantize_linear %w, %s, %z {axis = 1 : i64} : (tensor<4x4xi8>, tensor<f32>, tensor<i8>) -> tensor<4x4xf32>
  %t = tern.transpose %d {perm = array<i64: 1, 0>} : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %r = tern.relu %x : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %n = tern.neg %c : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %a = tern.add %r, %n : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %y = tern.matmul %a, %t : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}
