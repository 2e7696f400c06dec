// RUN: tern-opt %s --tern-vectorize-transposes="vector-bits=256" --canonicalize | FileCheck %s

// With 256-bit vectors a tile of 32-bit values is 8 x 8: its rows are
// turned around by three rounds of two-input shuffles of whole rows (each
// one AVX instruction: vunpcklps/vunpckhps, vshufps, vperm2f128), not a
// vector.transpose, which the canonicalizer would fold into lanes moved one
// at a time.
// CHECK-LABEL: func.func @back_to_nchw
// CHECK-COUNT-8: vector.load %arg0
// CHECK-NOT: vector.transpose
// CHECK-COUNT-4: vector.shuffle {{.+}} [0, 8, 1, 9, 4, 12, 5, 13]
// CHECK-COUNT-4: vector.shuffle {{.+}} [0, 1, 8, 9, 4, 5, 12, 13]
// CHECK-COUNT-4: vector.shuffle {{.+}} [0, 1, 2, 3, 8, 9, 10, 11]
// CHECK-NOT: vector.transpose
// CHECK-NOT: vector.from_elements
// CHECK: vector.store
// CHECK-NOT: linalg.generic
func.func @back_to_nchw(%c: memref<16x8xf32>, %scale: memref<8x1xf32>, %out: memref<1x8x16xf32>) {
  linalg.generic {indexing_maps = [affine_map<(n, f, p) -> (p, f)>, affine_map<(n, f, p) -> (f, 0)>,
                                   affine_map<(n, f, p) -> (n, f, p)>],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%c, %scale : memref<16x8xf32>, memref<8x1xf32>) outs(%out : memref<1x8x16xf32>) {
  ^bb0(%x: f32, %s: f32, %o: f32):
    %y = arith.mulf %x, %s : f32
    linalg.yield %y : f32
  }
  return
}
