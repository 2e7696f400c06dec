// RUN: tern-opt %s -split-input-file -canonicalize | FileCheck %s

// Tests that exporter-style shape arithmetic folds to a constant when the
// dims it reads are static, even though another dim is dynamic.
// CHECK-LABEL: func.func @shape_chain
func.func @shape_chain(%x: tensor<?x128x768xf32>) -> tensor<?x128x12x64xf32> {
  %shape = tern.shape %x {start = 1 : i64, end = 2 : i64} : (tensor<?x128x768xf32>) -> tensor<1xi64>
  %heads = tern.constant dense<[12, 64]> : tensor<2xi64>
  %zero = tern.constant dense<[0]> : tensor<1xi64>
  // CHECK: %[[SHAPE:.+]] = tern.constant dense<[0, 128, 12, 64]> : tensor<4xi64>
  %new = tern.concat %zero, %shape, %heads {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<2xi64>) -> tensor<4xi64>
  // CHECK: tern.reshape %{{.*}}, %[[SHAPE]]
  %y = tern.reshape %x, %new : (tensor<?x128x768xf32>, tensor<4xi64>) -> tensor<?x128x12x64xf32>
  return %y : tensor<?x128x12x64xf32>
}

// -----

// Tests that integer arithmetic on constants folds, with broadcasting.
// CHECK-LABEL: func.func @arith
func.func @arith() -> tensor<2xi64> {
  %a = tern.constant dense<[3, 5]> : tensor<2xi64>
  %b = tern.constant dense<2> : tensor<i64>
  // CHECK: tern.constant dense<[7, 11]> : tensor<2xi64>
  %m = tern.mul %a, %b : (tensor<2xi64>, tensor<i64>) -> tensor<2xi64>
  %c = tern.constant dense<1> : tensor<1xi64>
  %s = tern.add %m, %c : (tensor<2xi64>, tensor<1xi64>) -> tensor<2xi64>
  return %s : tensor<2xi64>
}

// -----

// Tests that a shape with a dynamic dim does not fold.
// CHECK-LABEL: func.func @dynamic_shape
func.func @dynamic_shape(%x: tensor<?x8xf32>) -> tensor<2xi64> {
  // CHECK: tern.shape
  %s = tern.shape %x {start = 0 : i64, end = 2 : i64} : (tensor<?x8xf32>) -> tensor<2xi64>
  return %s : tensor<2xi64>
}

// -----

// Tests Gather, Slice, Unsqueeze and Range on constants.
// CHECK-LABEL: func.func @movement
func.func @movement() -> (tensor<1xi64>, tensor<2xi64>, tensor<4xi64>) {
  %d = tern.constant dense<[10, 20, 30, 40]> : tensor<4xi64>
  %i = tern.constant dense<2> : tensor<i64>
  %g = tern.gather %d, %i {axis = 0 : i64} : (tensor<4xi64>, tensor<i64>) -> tensor<i64>
  // CHECK-DAG: tern.constant dense<30> : tensor<1xi64>
  %u = tern.unsqueeze %g {axes = array<i64: 0>} : (tensor<i64>) -> tensor<1xi64>
  %st = tern.constant dense<[-1]> : tensor<1xi64>
  %en = tern.constant dense<[-9223372036854775807]> : tensor<1xi64>
  %ax = tern.constant dense<[0]> : tensor<1xi64>
  %sp = tern.constant dense<[-2]> : tensor<1xi64>
  // CHECK-DAG: tern.constant dense<[40, 20]> : tensor<2xi64>
  %sl = tern.slice %d, %st, %en, %ax, %sp : (tensor<4xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  %r0 = tern.constant dense<0> : tensor<i64>
  %r1 = tern.constant dense<4> : tensor<i64>
  %r2 = tern.constant dense<1> : tensor<i64>
  // CHECK-DAG: tern.constant dense<[0, 1, 2, 3]> : tensor<4xi64>
  %r = tern.range %r0, %r1, %r2 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<4xi64>
  return %u, %sl, %r : tensor<1xi64>, tensor<2xi64>, tensor<4xi64>
}
