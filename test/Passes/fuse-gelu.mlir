// RUN: tern-opt %s --tern-fuse-gelu --split-input-file | FileCheck %s

// GPT-2's tanh GELU, as its exporter writes it.
// CHECK-LABEL: func.func @gelu_tanh
// CHECK-NEXT: %[[G:.+]] = tern.gelu %arg0 {approximate = "tanh"} : (tensor<1x?x8xf32>) -> tensor<1x?x8xf32>
// CHECK-NEXT: return %[[G]]
func.func @gelu_tanh(%x: tensor<1x?x8xf32>) -> tensor<1x?x8xf32> {
  %half = tern.constant dense<0.5> : tensor<f32>
  %three = tern.constant dense<3.0> : tensor<f32>
  %c = tern.constant dense<0.044715> : tensor<f32>
  %s = tern.constant dense<0.797884583> : tensor<f32>
  %one = tern.constant dense<1.0> : tensor<f32>
  %0 = tern.mul %x, %half : (tensor<1x?x8xf32>, tensor<f32>) -> tensor<1x?x8xf32>
  %1 = tern.pow %x, %three : (tensor<1x?x8xf32>, tensor<f32>) -> tensor<1x?x8xf32>
  %2 = tern.mul %1, %c : (tensor<1x?x8xf32>, tensor<f32>) -> tensor<1x?x8xf32>
  %3 = tern.add %x, %2 : (tensor<1x?x8xf32>, tensor<1x?x8xf32>) -> tensor<1x?x8xf32>
  %4 = tern.mul %3, %s : (tensor<1x?x8xf32>, tensor<f32>) -> tensor<1x?x8xf32>
  %5 = tern.tanh %4 : (tensor<1x?x8xf32>) -> tensor<1x?x8xf32>
  %6 = tern.add %5, %one : (tensor<1x?x8xf32>, tensor<f32>) -> tensor<1x?x8xf32>
  %7 = tern.mul %0, %6 : (tensor<1x?x8xf32>, tensor<1x?x8xf32>) -> tensor<1x?x8xf32>
  return %7 : tensor<1x?x8xf32>
}

// -----

// The erf form, grouped as x * (bracket) * 0.5.
// CHECK-LABEL: func.func @gelu_erf
// CHECK-NEXT: %[[G:.+]] = tern.gelu %arg0 : (tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT: return %[[G]]
func.func @gelu_erf(%x: tensor<4xf32>) -> tensor<4xf32> {
  %half = tern.constant dense<0.5> : tensor<f32>
  %sqrt2 = tern.constant dense<1.41421354> : tensor<f32>
  %one = tern.constant dense<1.0> : tensor<f32>
  %0 = tern.div %x, %sqrt2 : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %1 = tern.erf %0 : (tensor<4xf32>) -> tensor<4xf32>
  %2 = tern.add %one, %1 : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
  %3 = tern.mul %x, %2 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %4 = tern.mul %3, %half : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  return %4 : tensor<4xf32>
}

// -----

// Must not fire: another coefficient (0.05 instead of 0.044715), and an
// intermediate (the tanh) read elsewhere.
// CHECK-LABEL: func.func @not_gelu
// CHECK-NOT: tern.gelu
// CHECK: tern.tanh
// CHECK: tern.tanh
// CHECK-NOT: tern.gelu
func.func @not_gelu(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %half = tern.constant dense<0.5> : tensor<f32>
  %three = tern.constant dense<3.0> : tensor<f32>
  %c = tern.constant dense<0.05> : tensor<f32>
  %c2 = tern.constant dense<0.044715> : tensor<f32>
  %s = tern.constant dense<0.797884583> : tensor<f32>
  %one = tern.constant dense<1.0> : tensor<f32>
  %0 = tern.mul %x, %half : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %1 = tern.pow %x, %three : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %2 = tern.mul %1, %c : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %3 = tern.add %x, %2 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %4 = tern.mul %3, %s : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %5 = tern.tanh %4 : (tensor<4xf32>) -> tensor<4xf32>
  %6 = tern.add %5, %one : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %7 = tern.mul %0, %6 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %10 = tern.mul %x, %half : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %11 = tern.pow %x, %three : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %12 = tern.mul %11, %c2 : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %13 = tern.add %x, %12 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %14 = tern.mul %13, %s : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %15 = tern.tanh %14 : (tensor<4xf32>) -> tensor<4xf32>
  %16 = tern.add %15, %one : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %17 = tern.mul %10, %16 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %7, %17, %15 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// Must not fire (regression: the matcher dereferenced a missing operand):
// erf of another value times 1/sqrt 2.
// CHECK-LABEL: func.func @erf_of_other
// CHECK-NOT: tern.gelu
// CHECK: tern.erf
func.func @erf_of_other(%x: tensor<4xf32>, %y: tensor<4xf32>) -> tensor<4xf32> {
  %half = tern.constant dense<0.5> : tensor<f32>
  %c = tern.constant dense<0.707106769> : tensor<f32>
  %one = tern.constant dense<1.0> : tensor<f32>
  %0 = tern.mul %y, %c : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %1 = tern.erf %0 : (tensor<4xf32>) -> tensor<4xf32>
  %2 = tern.add %1, %one : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %3 = tern.mul %x, %half : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %4 = tern.mul %3, %2 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %4 : tensor<4xf32>
}
