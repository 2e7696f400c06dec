// RUN: tern-opt %s --tern-vectorize-contractions="vector-bits=256 rows=6 vectors=2 pmaddwd=true" --canonicalize --split-input-file | FileCheck %s

// An int8 convolution's patches (a 3 x 3 window over a padded 4 x 4 map of
// 8 channels, gathered as [positions, taps * channels]) multiplied on i16
// pairs: A is widened to i16 once before the kernel, and read for that
// from the gather's source, each tap's channels a vector: the patches are
// never written.
// CHECK-LABEL: func.func @patches
// CHECK: %[[WA:.+]] = memref.alloc() {alignment = 64 : i64} : memref<4x72xi16>
// CHECK: scf.parallel
// CHECK: scf.for %[[TAP:.+]] = %c0 to %c9 step %c1
// CHECK-DAG: %[[KW:.+]] = arith.remui %[[TAP]], %c3 : index
// CHECK-DAG: %[[KH:.+]] = arith.divui %[[TAP]], %c3 : index
// CHECK: %[[X:.+]] = vector.load %arg0[%c0, %{{.+}}, %{{.+}}, %c0] : memref<1x4x4x8xi8>, vector<8xi8>
// CHECK: %[[W:.+]] = arith.extui %[[X]] : vector<8xi8> to vector<8xi16>
// CHECK: vector.store %[[W]], %[[WA]]
// CHECK: llvm.x86.avx2.pmadd.wd
// CHECK-NOT: linalg.generic
// CHECK-NOT: memref<2x2x3x3x8xi8>
memref.global "private" constant @w : memref<72x16xi8> = dense<3>
func.func @patches(%x: memref<1x4x4x8xi8>) -> memref<4x16xi32> {
  %zero = arith.constant 0 : i32
  %p = memref.alloc() : memref<2x2x3x3x8xi8>
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (0, d0 + d2, d1 + d3, d4)>,
                                   affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : memref<1x4x4x8xi8>) outs(%p : memref<2x2x3x3x8xi8>) {
  ^bb0(%in: i8, %out: i8):
    linalg.yield %in : i8
  }
  %a = memref.collapse_shape %p [[0, 1], [2, 3, 4]] : memref<2x2x3x3x8xi8> into memref<4x72xi8>
  %w = memref.get_global @w : memref<72x16xi8>
  %c = memref.alloc() : memref<4x16xi32>
  linalg.fill ins(%zero : i32) outs(%c : memref<4x16xi32>)
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<4x72xi8>, memref<72x16xi8>) outs(%c : memref<4x16xi32>) {
  ^bb0(%in: i8, %in2: i8, %acc: i32):
    %x32 = arith.extui %in : i8 to i32
    %y32 = arith.extsi %in2 : i8 to i32
    %m = arith.muli %x32, %y32 : i32
    %s = arith.addi %acc, %m : i32
    linalg.yield %s : i32
  }
  return %c : memref<4x16xi32>
}

// -----

// Must not: the patches have another reader (here the function's result),
// so the gather runs and A is widened from the patches.
// CHECK-LABEL: func.func @patches_kept
// CHECK: linalg.generic
// CHECK: vector.load %{{.+}} : memref<4x72xi8>, vector<8xi8>
memref.global "private" constant @w2 : memref<72x16xi8> = dense<3>
func.func @patches_kept(%x: memref<1x4x4x8xi8>) -> (memref<4x16xi32>, memref<2x2x3x3x8xi8>) {
  %zero = arith.constant 0 : i32
  %p = memref.alloc() : memref<2x2x3x3x8xi8>
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (0, d0 + d2, d1 + d3, d4)>,
                                   affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : memref<1x4x4x8xi8>) outs(%p : memref<2x2x3x3x8xi8>) {
  ^bb0(%in: i8, %out: i8):
    linalg.yield %in : i8
  }
  %a = memref.collapse_shape %p [[0, 1], [2, 3, 4]] : memref<2x2x3x3x8xi8> into memref<4x72xi8>
  %w = memref.get_global @w2 : memref<72x16xi8>
  %c = memref.alloc() : memref<4x16xi32>
  linalg.fill ins(%zero : i32) outs(%c : memref<4x16xi32>)
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<4x72xi8>, memref<72x16xi8>) outs(%c : memref<4x16xi32>) {
  ^bb0(%in: i8, %in2: i8, %acc: i32):
    %x32 = arith.extui %in : i8 to i32
    %y32 = arith.extsi %in2 : i8 to i32
    %m = arith.muli %x32, %y32 : i32
    %s = arith.addi %acc, %m : i32
    linalg.yield %s : i32
  }
  return %c, %p : memref<4x16xi32>, memref<2x2x3x3x8xi8>
}

// -----

// Must not: the gather reads its source across the channels (a transposed
// copy, not a tap's contiguous run), or something writes the source
// between the gather and the product (widening from it there would read
// the new values).
// CHECK-LABEL: func.func @patches_across
// CHECK: linalg.generic
// CHECK: vector.load %{{.+}} : memref<4x72xi8>, vector<8xi8>
// CHECK-LABEL: func.func @patches_overwritten
// CHECK: linalg.generic
// CHECK: linalg.fill
// CHECK: vector.load %{{.+}} : memref<4x72xi8>, vector<8xi8>
memref.global "private" constant @w3 : memref<72x16xi8> = dense<3>
func.func @patches_across(%x: memref<1x4x8x4xi8>) -> memref<4x16xi32> {
  %zero = arith.constant 0 : i32
  %p = memref.alloc() : memref<2x2x3x3x8xi8>
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (0, d0 + d2, d4, d1 + d3)>,
                                   affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : memref<1x4x8x4xi8>) outs(%p : memref<2x2x3x3x8xi8>) {
  ^bb0(%in: i8, %out: i8):
    linalg.yield %in : i8
  }
  %a = memref.collapse_shape %p [[0, 1], [2, 3, 4]] : memref<2x2x3x3x8xi8> into memref<4x72xi8>
  %w = memref.get_global @w3 : memref<72x16xi8>
  %c = memref.alloc() : memref<4x16xi32>
  linalg.fill ins(%zero : i32) outs(%c : memref<4x16xi32>)
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<4x72xi8>, memref<72x16xi8>) outs(%c : memref<4x16xi32>) {
  ^bb0(%in: i8, %in2: i8, %acc: i32):
    %x32 = arith.extui %in : i8 to i32
    %y32 = arith.extsi %in2 : i8 to i32
    %m = arith.muli %x32, %y32 : i32
    %s = arith.addi %acc, %m : i32
    linalg.yield %s : i32
  }
  return %c : memref<4x16xi32>
}
memref.global "private" constant @w4 : memref<72x16xi8> = dense<3>
func.func @patches_overwritten(%x: memref<1x4x4x8xi8>) -> memref<4x16xi32> {
  %zero = arith.constant 0 : i32
  %seven = arith.constant 7 : i8
  %p = memref.alloc() : memref<2x2x3x3x8xi8>
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (0, d0 + d2, d1 + d3, d4)>,
                                   affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : memref<1x4x4x8xi8>) outs(%p : memref<2x2x3x3x8xi8>) {
  ^bb0(%in: i8, %out: i8):
    linalg.yield %in : i8
  }
  linalg.fill ins(%seven : i8) outs(%x : memref<1x4x4x8xi8>)
  %a = memref.collapse_shape %p [[0, 1], [2, 3, 4]] : memref<2x2x3x3x8xi8> into memref<4x72xi8>
  %w = memref.get_global @w4 : memref<72x16xi8>
  %c = memref.alloc() : memref<4x16xi32>
  linalg.fill ins(%zero : i32) outs(%c : memref<4x16xi32>)
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<4x72xi8>, memref<72x16xi8>) outs(%c : memref<4x16xi32>) {
  ^bb0(%in: i8, %in2: i8, %acc: i32):
    %x32 = arith.extui %in : i8 to i32
    %y32 = arith.extsi %in2 : i8 to i32
    %m = arith.muli %x32, %y32 : i32
    %s = arith.addi %acc, %m : i32
    linalg.yield %s : i32
  }
  return %c : memref<4x16xi32>
}

// -----

// Images counted at run time: the patches [?, 2, 2, 3, 3, 8] (their rows
// a dynamic count, also read for their size) still widened from the
// gather's source into an A of as many rows, allocated at run time.
// CHECK-LABEL: func.func @patches_dynamic
// CHECK: %[[WA:.+]] = memref.alloc(%{{.+}}) {alignment = 64 : i64} : memref<?x72xi16>
// CHECK: scf.for %[[TAP:.+]] = %c0 to %c9 step %c1
// CHECK: vector.load %arg0[%{{.+}}, %{{.+}}, %{{.+}}, %c0] : memref<?x4x4x8xi8>, vector<8xi8>
// CHECK: vector.store %{{.+}}, %[[WA]]
// CHECK: llvm.x86.avx2.pmadd.wd
// CHECK-NOT: linalg.generic
memref.global "private" constant @w5 : memref<72x16xi8> = dense<3>
func.func @patches_dynamic(%x: memref<?x4x4x8xi8>) -> memref<?x16xi32> {
  %zero = arith.constant 0 : i32
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?x4x4x8xi8>
  %p = memref.alloc(%n) : memref<?x2x2x3x3x8xi8>
  linalg.generic {indexing_maps = [affine_map<(d5, d0, d1, d2, d3, d4) -> (d5, d0 + d2, d1 + d3, d4)>,
                                   affine_map<(d5, d0, d1, d2, d3, d4) -> (d5, d0, d1, d2, d3, d4)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : memref<?x4x4x8xi8>) outs(%p : memref<?x2x2x3x3x8xi8>) {
  ^bb0(%in: i8, %out: i8):
    linalg.yield %in : i8
  }
  %a = memref.collapse_shape %p [[0, 1, 2], [3, 4, 5]] : memref<?x2x2x3x3x8xi8> into memref<?x72xi8>
  %rows = memref.dim %a, %c0 : memref<?x72xi8>
  %w = memref.get_global @w5 : memref<72x16xi8>
  %c = memref.alloc(%rows) : memref<?x16xi32>
  linalg.fill ins(%zero : i32) outs(%c : memref<?x16xi32>)
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<?x72xi8>, memref<72x16xi8>) outs(%c : memref<?x16xi32>) {
  ^bb0(%in: i8, %in2: i8, %acc: i32):
    %x32 = arith.extui %in : i8 to i32
    %y32 = arith.extsi %in2 : i8 to i32
    %m = arith.muli %x32, %y32 : i32
    %s = arith.addi %acc, %m : i32
    linalg.yield %s : i32
  }
  return %c : memref<?x16xi32>
}
