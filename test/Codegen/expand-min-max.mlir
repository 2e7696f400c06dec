// RUN: tern-opt %s --tern-expand-min-max | FileCheck %s

// Against a constant: one compare and one select, the constant on ties
// except for the zero that loses them (max with -0, min with +0), a NaN x
// failing the compare and returned as is.
// CHECK-LABEL: func.func @against_constants
// CHECK-DAG: %[[NZ:.+]] = arith.constant -0.000000e+00 : f32
// CHECK-DAG: %[[SIX:.+]] = arith.constant 6.000000e+00 : f32
// CHECK-DAG: %[[Z:.+]] = arith.constant dense<0.000000e+00> : vector<8xf32>
// CHECK: %[[C0:.+]] = arith.cmpf ole, %arg0, %[[Z]] : vector<8xf32>
// CHECK: arith.select %[[C0]], %[[Z]], %arg0 : vector<8xi1>, vector<8xf32>
// CHECK: %[[C1:.+]] = arith.cmpf oge, %arg1, %[[SIX]] : f32
// CHECK: arith.select %[[C1]], %[[SIX]], %arg1 : f32
// CHECK: %[[C2:.+]] = arith.cmpf olt, %arg1, %[[NZ]] : f32
// CHECK: arith.select %[[C2]], %[[NZ]], %arg1 : f32
// CHECK: %[[C3:.+]] = arith.cmpf ogt, %arg0, %[[Z]] : vector<8xf32>
// CHECK: arith.select %[[C3]], %[[Z]], %arg0 : vector<8xi1>, vector<8xf32>
// CHECK-NOT: arith.maximumf
// CHECK-NOT: arith.minimumf
func.func @against_constants(%x: vector<8xf32>, %y: f32) -> (vector<8xf32>, f32, f32, vector<8xf32>) {
  %z = arith.constant dense<0.0> : vector<8xf32>
  %0 = arith.maximumf %x, %z : vector<8xf32>
  %six = arith.constant 6.0 : f32
  %1 = arith.minimumf %six, %y : f32
  %mz = arith.constant -0.0 : f32
  %2 = arith.maximumf %y, %mz : f32
  %3 = arith.minimumf %x, %z : vector<8xf32>
  return %0, %1, %2, %3 : vector<8xf32>, f32, f32, vector<8xf32>
}

// Two variables, or a NaN constant: left as they are.
// CHECK-LABEL: func.func @left
// CHECK: arith.maximumf %arg0, %arg1
// CHECK: arith.minimumf %arg0, %{{.+}}
// CHECK-NOT: arith.select
func.func @left(%x: f32, %y: f32) -> (f32, f32) {
  %0 = arith.maximumf %x, %y : f32
  %nan = arith.constant 0x7FC00000 : f32
  %1 = arith.minimumf %x, %nan : f32
  return %0, %1 : f32, f32
}
