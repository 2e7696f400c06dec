// RUN: tern-opt %s --tern-split-masked-stores --split-input-file | FileCheck %s

// A constant mask of 7 lanes of 8 (a 7-wide row's last vector): stores of
// 4, 2 and 1 lanes, no masked store and no branch.
// CHECK-LABEL: func.func @prefix
// CHECK-NOT: vector.maskedstore
// CHECK-NOT: scf.if
// CHECK: %[[A:.+]] = vector.extract_strided_slice %arg1 {offsets = [0], sizes = [4], strides = [1]}
// CHECK: vector.store %[[A]], %arg0[%arg2] : memref<32xf32>, vector<4xf32>
// CHECK: %[[I4:.+]] = arith.addi %arg2, %c4
// CHECK: %[[B:.+]] = vector.extract_strided_slice %arg1 {offsets = [4], sizes = [2], strides = [1]}
// CHECK: vector.store %[[B]], %arg0[%[[I4]]] : memref<32xf32>, vector<2xf32>
// CHECK: %[[I6:.+]] = arith.addi %arg2, %c6
// CHECK: %[[C:.+]] = vector.extract_strided_slice %arg1 {offsets = [6], sizes = [1], strides = [1]}
// CHECK: vector.store %[[C]], %arg0[%[[I6]]] : memref<32xf32>, vector<1xf32>
// CHECK-NOT: vector.store
// CHECK: return
func.func @prefix(%m: memref<32xf32>, %v: vector<8xf32>, %i: index) {
  %mask = vector.constant_mask [7] : vector<8xi1>
  vector.maskedstore %m[%i], %mask, %v : memref<32xf32>, vector<8xi1>, vector<8xf32>
  return
}

// -----

// create_mask of a constant, and a constant: 3 lanes from the second
// (lanes 2, 3, 4: 2 + 1); all lanes: one plain store; none: nothing.
// CHECK-LABEL: func.func @constants
// CHECK-NOT: vector.maskedstore
// CHECK: vector.extract_strided_slice %arg1 {offsets = [2], sizes = [2], strides = [1]}
// CHECK: vector.extract_strided_slice %arg1 {offsets = [4], sizes = [1], strides = [1]}
// CHECK: vector.store %arg1, %arg0[%arg2] : memref<32xf32>, vector<8xf32>
// CHECK-NOT: vector.store
// CHECK: return
func.func @constants(%m: memref<32xf32>, %v: vector<8xf32>, %i: index) {
  %middle = arith.constant dense<[false, false, true, true, true, false, false, false]> : vector<8xi1>
  vector.maskedstore %m[%i], %middle, %v : memref<32xf32>, vector<8xi1>, vector<8xf32>
  %c9 = arith.constant 9 : index
  %all = vector.create_mask %c9 : vector<8xi1>
  vector.maskedstore %m[%i], %all, %v : memref<32xf32>, vector<8xi1>, vector<8xf32>
  %none = vector.constant_mask [0] : vector<8xi1>
  vector.maskedstore %m[%i], %none, %v : memref<32xf32>, vector<8xi1>, vector<8xf32>
  return
}

// -----

// A mask of n lanes known at run time only: the whole vector when n >= 8
// (one compare), else its halves, quarters and lanes, each stored whole
// once n covers it and skipped once n misses it.
// CHECK-LABEL: func.func @dynamic
// CHECK-NOT: vector.maskedstore
// CHECK-DAG: %[[C8:.+]] = arith.constant 8 : index
// CHECK-DAG: %[[FULL:.+]] = arith.cmpi sge, %arg3, %[[C8]]
// CHECK: scf.if %[[FULL]] {
// CHECK-NEXT: vector.store %arg1, %arg0[%arg2] : memref<32xf32>, vector<8xf32>
// CHECK-NEXT: } else {
// CHECK: arith.cmpi sge, %arg3, %c4
// CHECK: scf.if
// CHECK: vector.store {{.+}} vector<4xf32>
// CHECK: vector.store {{.+}} vector<2xf32>
// CHECK: vector.store {{.+}} vector<1xf32>
// CHECK-NOT: vector.maskedstore
func.func @dynamic(%m: memref<32xf32>, %v: vector<8xf32>, %i: index, %n: index) {
  %mask = vector.create_mask %n : vector<8xi1>
  vector.maskedstore %m[%i], %mask, %v : memref<32xf32>, vector<8xi1>, vector<8xf32>
  return
}

// -----

// Lanes [lo, hi) as tern-vectorize-contractions masks a vector of positions
// that crosses into the next row of a padded map: create_mask hi and not
// create_mask lo. Whole when lo <= 0 and hi >= 8.
// CHECK-LABEL: func.func @range
// CHECK-NOT: vector.maskedstore
// CHECK-DAG: %[[LO:.+]] = arith.cmpi sle, %arg3, %c0
// CHECK-DAG: %[[HI:.+]] = arith.cmpi sge, %arg4, %c8
// CHECK: %[[FULL:.+]] = arith.andi %[[LO]], %[[HI]] : i1
// CHECK: scf.if %[[FULL]] {
// CHECK-NEXT: vector.store %arg1, %arg0[%arg2] : memref<32xf32>, vector<8xf32>
// CHECK: vector.store {{.+}} vector<1xf32>
// CHECK-NOT: vector.maskedstore
func.func @range(%m: memref<32xf32>, %v: vector<8xf32>, %i: index, %lo: index, %hi: index) {
  %t = arith.constant dense<true> : vector<8xi1>
  %a = vector.create_mask %hi : vector<8xi1>
  %b = vector.create_mask %lo : vector<8xi1>
  %nb = arith.xori %b, %t : vector<8xi1>
  %mask = arith.andi %a, %nb : vector<8xi1>
  vector.maskedstore %m[%i], %mask, %v : memref<32xf32>, vector<8xi1>, vector<8xf32>
  return
}

// -----

// Masks that keep no single range of lanes, or masks of two ranges known
// only at run time, stay masked stores; so do 2-D vectors.
// CHECK-LABEL: func.func @not_ranges
// CHECK: vector.maskedstore %arg0[%arg2], %{{.+}}, %arg1
// CHECK: vector.maskedstore %arg0[%arg2], %{{.+}}, %arg1
// CHECK: vector.maskedstore %arg5[%arg2, %arg2]
// CHECK-NOT: vector.store
func.func @not_ranges(%m: memref<32xf32>, %v: vector<8xf32>, %i: index, %n: index, %k: index,
                      %m2: memref<4x8xf32>, %v2: vector<2x8xf32>) {
  %gaps = arith.constant dense<[true, false, true, true, false, false, false, false]> : vector<8xi1>
  vector.maskedstore %m[%i], %gaps, %v : memref<32xf32>, vector<8xi1>, vector<8xf32>
  %a = vector.create_mask %n : vector<8xi1>
  %b = vector.create_mask %k : vector<8xi1>
  %both = arith.andi %a, %b : vector<8xi1>
  vector.maskedstore %m[%i], %both, %v : memref<32xf32>, vector<8xi1>, vector<8xf32>
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  %mask2 = vector.create_mask %c1, %c5 : vector<2x8xi1>
  vector.maskedstore %m2[%i, %i], %mask2, %v2 : memref<4x8xf32>, vector<2x8xi1>, vector<2x8xf32>
  return
}
