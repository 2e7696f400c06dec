// RUN: tern-opt %s --split-input-file --tern-to-linalg --canonicalize | FileCheck %s
// RUN: tern-opt %s --split-input-file --tern-to-linalg=broadcast-at-run-time=false --canonicalize \
// RUN:   | FileCheck %s --check-prefix=OFF

// Dims of different names may differ at run time, where either may be 1:
// each operand is compared with the result's dim (the larger) and, where
// it differs, stretched from index 0 into a copy (none read from an empty
// operand; a dim neither the result's nor 1 calls the runtime's check_failed
// hook, check 0 of the module's table); the add reads both as they are then.
// CHECK: module attributes {tern.checks = ["(tern.add): operand 0 dim 0", "(tern.add): operand 1 dim 0"]}
// CHECK: func.func private @__tern_fail(i64, i64, i64)
// CHECK-LABEL: func.func @unproven
// CHECK-DAG: %[[N:.+]] = tensor.dim %arg0, %c0
// CHECK-DAG: %[[M:.+]] = tensor.dim %arg1, %c0
// CHECK: %[[MAX:.+]] = arith.maxui %[[N]], %[[M]]
// CHECK: %[[SAME:.+]] = arith.cmpi eq, %[[N]], %[[MAX]]
// CHECK: %[[X:.+]] = scf.if %[[SAME]]
// CHECK: scf.yield %arg0
// CHECK: } else {
// CHECK: %[[BAD:.+]] = arith.cmpi ne, %[[N]], %c1
// CHECK: scf.if %[[BAD]] {
// CHECK: func.call @__tern_fail(%c0_i64,
// CHECK: %[[EMPTY:.+]] = arith.cmpi eq, %[[N]], %c0
// CHECK: scf.if %[[EMPTY]]
// CHECK: } else {
// CHECK: linalg.generic {indexing_maps = [#[[ROW0:.+]], #{{.+}}]{{.*}} ins(%arg0
// CHECK: arith.cmpi eq, %[[M]], %[[MAX]]
// CHECK: %[[Y:.+]] = scf.if
// CHECK: linalg.generic {{.*}} ins(%[[X]], %[[Y]]
// Off (the GPU target): the dims are taken to be equal, no branch.
// OFF-LABEL: func.func @unproven
// OFF-NOT: scf.if
// OFF: arith.maxui
// OFF-NOT: scf.if
// OFF: linalg.generic {{.*}} ins(%arg0, %arg1
func.func @unproven(%x: tensor<?x4xf32> {tern.dim_names = ["n", ""]},
                    %y: tensor<?x4xf32> {tern.dim_names = ["m", ""]}) -> tensor<?x4xf32> {
  %z = tern.add %x, %y : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
  return %z : tensor<?x4xf32>
}

// -----

// Dims the symbolic dims prove equal are read as they are: the same name
// on two inputs (the runtime checks it), an op's result and its operand,
// a static result dim against a dim of 1 that stays static. No branch.
// CHECK-LABEL: func.func @proven
// CHECK-NOT: scf.if
// CHECK-NOT: arith.maxui
// CHECK: return
func.func @proven(%x: tensor<?x4xf32> {tern.dim_names = ["b", ""]},
                  %y: tensor<?x4xf32> {tern.dim_names = ["b", ""]},
                  %c: tensor<1x4xf32>) -> tensor<?x4xf32> {
  %a = tern.add %x, %y : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
  %r = tern.relu %a : (tensor<?x4xf32>) -> tensor<?x4xf32>
  %s = tern.mul %r, %x : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
  %t = tern.sub %s, %c : (tensor<?x4xf32>, tensor<1x4xf32>) -> tensor<?x4xf32>
  return %t : tensor<?x4xf32>
}

// -----

// A dynamic dim against a static result dim is checked too (it may be 1).
// CHECK-LABEL: func.func @static_result
// CHECK: %[[N:.+]] = tensor.dim %arg0, %c0
// CHECK: arith.cmpi eq, %[[N]], %c3
// CHECK: scf.if
func.func @static_result(%x: tensor<?x4xf32>, %y: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %z = tern.add %x, %y : (tensor<?x4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
  return %z : tensor<3x4xf32>
}

// -----

// bert's position embeddings: a Slice of a 16-row table up to the sequence
// length has min(s, 16) rows, not provably s: that operand alone is checked
// (and stretched); the sum's dims are the ids' (no max of the two).
// CHECK-LABEL: func.func @capped
// CHECK-NOT: arith.maxui
// CHECK: scf.if
// CHECK: } else {
// CHECK: scf.if
// CHECK: call @__tern_fail
// CHECK: scf.if
// CHECK-NOT: scf.if
// CHECK-NOT: arith.maxui
// CHECK: return
func.func @capped(%ids: tensor<?x?xi64> {tern.dim_names = ["b", "s"]}, %emb: tensor<100x8xf32>,
                  %pos: tensor<16x8xf32>) -> tensor<?x?x8xf32> {
  %table = tern.constant dense<[[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]]> : tensor<1x16xi64>
  %x = tern.gather %emb, %ids {axis = 0 : i64} : (tensor<100x8xf32>, tensor<?x?xi64>) -> tensor<?x?x8xf32>
  %s = tern.shape %ids {start = 1 : i64, end = 2 : i64} : (tensor<?x?xi64>) -> tensor<1xi64>
  %zero = tern.constant dense<0> : tensor<1xi64>
  %one = tern.constant dense<1> : tensor<1xi64>
  %sl = tern.slice %table, %zero, %s, %one, %one : (tensor<1x16xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x?xi64>
  %p = tern.gather %pos, %sl {axis = 0 : i64} : (tensor<16x8xf32>, tensor<1x?xi64>) -> tensor<1x?x8xf32>
  %r = tern.add %x, %p : (tensor<?x?x8xf32>, tensor<1x?x8xf32>) -> tensor<?x?x8xf32>
  return %r : tensor<?x?x8xf32>
}

// -----

// A causal mask's positions, Range(0, s), have s elements: compared with
// the ids' dims they need no check.
// CHECK-LABEL: func.func @range
// CHECK-NOT: scf.if
// CHECK: return
func.func @range(%ids: tensor<?x?xi64> {tern.dim_names = ["b", "s"]}) -> tensor<?x?xi1> {
  %s = tern.shape %ids {start = 1 : i64, end = 2 : i64} : (tensor<?x?xi64>) -> tensor<1xi64>
  %n = tern.squeeze %s {axes = array<i64: 0>} : (tensor<1xi64>) -> tensor<i64>
  %zero = tern.constant dense<0> : tensor<i64>
  %one = tern.constant dense<1> : tensor<i64>
  %r = tern.range %zero, %n, %one : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %row = tern.unsqueeze %r {axes = array<i64: 0>} : (tensor<?xi64>) -> tensor<1x?xi64>
  %m = tern.less_or_equal %row, %ids : (tensor<1x?xi64>, tensor<?x?xi64>) -> tensor<?x?xi1>
  return %m : tensor<?x?xi1>
}
