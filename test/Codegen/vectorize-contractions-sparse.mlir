// RUN: tern-opt %s --tern-vectorize-contractions="vector-bits=512 rows=8 vectors=2 sparse=true" --canonicalize --split-input-file | FileCheck %s
// RUN: tern-opt %s --tern-vectorize-contractions="vector-bits=256 rows=4 vectors=2 sparse=true" --canonicalize --split-input-file | FileCheck %s --check-prefix=AVX2
// RUN: tern-opt %s --tern-vectorize-contractions="vector-bits=512 rows=8 vectors=2" --canonicalize --split-input-file | FileCheck %s --check-prefix=OFF

// A 2:4-sparse constant B (at most 2 non-zeros in every 4 consecutive k of
// each column; k = 6 ends with a partial group) times one row of A: B is
// packed as its non-zeros, two rows of values per group of 4 k
// ([panels][groups x 2][32]), and their 2-bit positions, a byte per lane
// for both vectors ([panels][groups][16]). Per group the kernel widens the
// positions, broadcasts A's 4 values to every 128-bit lane and picks each
// lane's value with vpermps before the FMA; the last group's A is read
// masked.
// CHECK-DAG: memref.global "private" constant @w_sparse24_32_values : memref<1x4x32xf32>
// CHECK-DAG: memref.global "private" constant @w_sparse24_32_indices : memref<1x2x16xi8>
// CHECK-LABEL: func.func @one_row
// CHECK-DAG: %[[V:.+]] = memref.get_global @w_sparse24_32_values
// CHECK-DAG: %[[I:.+]] = memref.get_global @w_sparse24_32_indices
// CHECK: %[[BYTES:.+]] = vector.load %[[I]]{{.+}} : memref<1x2x16xi8>, vector<16xi8>
// CHECK: %[[POS:.+]] = arith.extui %[[BYTES]] : vector<16xi8> to vector<16xi32>
// CHECK: arith.shrui %[[POS]]
// CHECK: vector.load %[[V]]{{.+}} : memref<1x4x32xf32>, vector<16xf32>
// CHECK: %[[A4:.+]] = vector.load %arg0{{.+}} : memref<1x6xf32>, vector<4xf32>
// CHECK: %[[A:.+]] = vector.shuffle %[[A4]], %[[A4]] [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]
// CHECK: %[[PICK:.+]] = llvm.call_intrinsic "llvm.x86.avx512.permvar.sf.512"(%[[A]], %[[POS]]) : (vector<16xf32>, vector<16xi32>) -> vector<16xf32>
// CHECK: vector.fma %[[PICK]]
// CHECK: vector.transfer_read %arg0{{.+}} : memref<1x6xf32>, vector<4xf32>
// CHECK-NOT: linalg.generic
// CHECK-NOT: @w :
// AVX2: memref.global "private" constant @w_sparse24_16_values : memref<2x4x16xf32>
// AVX2-LABEL: func.func @one_row
// AVX2: llvm.call_intrinsic "llvm.x86.avx2.permps"({{.+}}) : (vector<8xf32>, vector<8xi32>) -> vector<8xf32>
// Without `sparse` (no vpermps, or not x86), the dense kernel.
// OFF-LABEL: func.func @one_row
// OFF-NOT: call_intrinsic
// OFF: memref.get_global @w_packed32 : memref<1x6x32xf32>
// OFF-NOT: call_intrinsic
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
memref.global "private" constant @w : memref<6x20xf32> = dense<[
    [2.0, 0.0, 0.0, -0.5, -0.5, 0.0, 0.0, -0.25, -0.75, 0.0, 0.0, -0.25, -0.25, 0.0, 0.0, -0.5, 0.5, 0.0, 0.0, -0.25],
    [0.5, 1.5, 0.0, 0.0, -0.25, 0.5, 0.0, 0.0, -0.25, 1.0, 0.0, 0.0, 1.0, 0.5, 0.0, 0.0, -2.75, 1.0, 0.0, 0.0],
    [0.0, 0.75, -0.5, 0.0, 0.0, 0.5, 1.5, 0.0, 0.0, 1.0, -0.25, 0.0, 0.0, 0.5, -0.25, 0.0, 0.0, -2.5, 0.75, 0.0],
    [0.0, 0.0, -1.0, 0.75, 0.0, 0.0, 0.75, 1.25, 0.0, 0.0, 0.25, -0.5, 0.0, 0.0, 0.25, -1.0, 0.0, 0.0, -0.25, -1.75],
    [0.0, 0.75, 0.75, 0.0, 0.25, -0.75, 0.0, -0.75, 1.25, 0.0, -0.5, -0.25, 0.0, 0.5, -1.25, 0.0, 0.5, 1.25, 0.0, 0.25],
    [-0.25, 0.25, -0.25, 0.75, -0.75, 0.25, 0.5, 0.5, 0.25, 2.5, 1.5, 1.5, -2.0, -0.25, -0.5, 0.5, -2.25, 1.25, 1.0, -1.25]]>
func.func @one_row(%a: memref<1x6xf32>) -> memref<1x20xf32> {
  %zero = arith.constant 0.0 : f32
  %w = memref.get_global @w : memref<6x20xf32>
  %c = memref.alloc() : memref<1x20xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<1x20xf32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<1x6xf32>, memref<6x20xf32>) outs(%c : memref<1x20xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return %c : memref<1x20xf32>
}

// -----

// Not sparse: a column with 3 non-zeros in a group of 4; and 2:4 weights
// times 16 rows (more than a kernel's rows: bound by the FMAs, where the
// permutes would cost more than the zeros save). Both run dense.
// CHECK-LABEL: func.func @dense
// CHECK-NOT: call_intrinsic
// CHECK: memref.get_global @w3_packed32
// CHECK-NOT: call_intrinsic
// CHECK: memref.get_global @w2_packed32
// CHECK-NOT: call_intrinsic
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
memref.global "private" constant @w3 : memref<4x4xf32> = dense<[[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]]>
memref.global "private" constant @w2 : memref<4x4xf32> = dense<[[1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]>
func.func @dense(%a: memref<1x4xf32>, %a16: memref<16x4xf32>) -> (memref<1x4xf32>, memref<16x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %w3 = memref.get_global @w3 : memref<4x4xf32>
  %w2 = memref.get_global @w2 : memref<4x4xf32>
  %c = memref.alloc() : memref<1x4xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<1x4xf32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w3 : memref<1x4xf32>, memref<4x4xf32>) outs(%c : memref<1x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  %c16 = memref.alloc() : memref<16x4xf32>
  linalg.fill ins(%zero : f32) outs(%c16 : memref<16x4xf32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a16, %w2 : memref<16x4xf32>, memref<4x4xf32>) outs(%c16 : memref<16x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return %c, %c16 : memref<1x4xf32>, memref<16x4xf32>
}

// -----

// Block-pruned B (rows 1, 3, 5 and 6 zero across the panel: 4 of 8 rows
// left, at most 3/4 needed): the panel's remaining rows are packed with
// their k, and the kernel (any number of rows of A) loops over those only,
// reading A at each stored k.
// CHECK-DAG: memref.global "private" constant @wr_rows_32_values : memref<1x4x32xf32>
// CHECK-DAG: memref.global "private" constant @wr_rows_32_indices : memref<1x4xi32>
// CHECK-LABEL: func.func @block_rows
// CHECK-DAG: %[[V:.+]] = memref.get_global @wr_rows_32_values
// CHECK-DAG: %[[I:.+]] = memref.get_global @wr_rows_32_indices
// CHECK: scf.for %[[J:.+]] = %c0 to %c4 step %c1
// CHECK: %[[K32:.+]] = memref.load %[[I]][%c0, %[[J]]] : memref<1x4xi32>
// CHECK: %[[K:.+]] = arith.index_cast %[[K32]] : i32 to index
// CHECK: vector.load %[[V]][%c0, %[[J]], %c0] : memref<1x4x32xf32>, vector<16xf32>
// CHECK: memref.load %arg0[{{.+}}, %[[K]]] : memref<16x8xf32>
// CHECK: vector.fma
// CHECK-NOT: @wr_packed
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
memref.global "private" constant @wr : memref<8x20xf32> = dense<[
    [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0],
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]]>
func.func @block_rows(%a: memref<16x8xf32>) -> memref<16x20xf32> {
  %zero = arith.constant 0.0 : f32
  %w = memref.get_global @wr : memref<8x20xf32>
  %c = memref.alloc() : memref<16x20xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<16x20xf32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<16x8xf32>, memref<8x20xf32>) outs(%c : memref<16x20xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return %c : memref<16x20xf32>
}
