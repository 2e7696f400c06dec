// RUN: tern-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tern-lower-reductions-to-loops))' | FileCheck %s
// RUN: tern-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tern-lower-reductions-to-loops{rows=2}))' | FileCheck %s --check-prefix=ROWS

// A matmul on buffers: one load and one store of each output element, the
// k loop carrying the sum.
// CHECK-LABEL: func.func @matmul
// CHECK: scf.parallel (%[[I:.*]], %[[J:.*]]) =
// CHECK: %[[INIT:.*]] = memref.load %arg2[%[[I]], %[[J]]]
// CHECK: %[[SUM:.*]] = scf.for %[[K:.*]] = {{.*}} iter_args(%[[ACC:.*]] = %[[INIT]]) -> (f32) {
// CHECK-DAG: memref.load %arg0[%[[I]], %[[K]]]
// CHECK-DAG: memref.load %arg1[%[[K]], %[[J]]]
// CHECK: arith.mulf
// CHECK: %[[NEXT:.*]] = arith.addf %[[ACC]], %{{.*}} : f32
// CHECK: scf.yield %[[NEXT]] : f32
// CHECK: memref.store %[[SUM]], %arg2[%[[I]], %[[J]]]
// CHECK-NOT: linalg.
// With rows=2, each iteration computes rows i and i+1 (the weight %arg1
// does not use i): two accumulators, the weight loaded once per k.
// ROWS-LABEL: func.func @matmul
// ROWS: %[[C2:.*]] = arith.muli %{{.*}}, %c2 : index
// ROWS: scf.parallel (%[[I:.*]], %[[J:.*]]) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %{{.*}}) step (%[[C2]], %{{.*}})
// ROWS: %[[I1:.*]] = arith.addi %[[I]], %{{.*}} : index
// ROWS: %[[INIT0:.*]] = memref.load %arg2[%[[I]], %[[J]]]
// ROWS: %[[INIT1:.*]] = memref.load %arg2[%[[I1]], %[[J]]]
// ROWS: %[[SUMS:.*]]:2 = scf.for %[[K:.*]] = {{.*}} iter_args(%[[A0:.*]] = %[[INIT0]], %[[A1:.*]] = %[[INIT1]]) -> (f32, f32) {
// ROWS: memref.load %arg0[%[[I]], %[[K]]]
// ROWS: %[[B:.*]] = memref.load %arg1[%[[K]], %[[J]]]
// ROWS: arith.mulf %{{.*}}, %[[B]]
// ROWS: memref.load %arg0[%[[I1]], %[[K]]]
// ROWS-NOT: memref.load %arg1
// ROWS: arith.mulf %{{.*}}, %[[B]]
// ROWS: scf.yield
// ROWS: memref.store %[[SUMS]]#0, %arg2[%[[I]], %[[J]]]
// ROWS: memref.store %[[SUMS]]#1, %arg2[%[[I1]], %[[J]]]
func.func @matmul(%a: memref<4x8xf32>, %b: memref<8x16xf32>, %c: memref<4x16xf32>) {
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32>)
  return
}

// -----

// Two reduction dims (a 2-D window sum, indices through affine maps):
// nested loops, each carrying the accumulator.
// CHECK-LABEL: func.func @window
// CHECK: scf.parallel (%[[Y:.*]], %[[X:.*]]) =
// CHECK: %[[R:.*]] = scf.for %[[KY:.*]] = {{.*}} iter_args(%[[A0:.*]] = %{{.*}}) -> (f32) {
// CHECK: %[[R2:.*]] = scf.for %[[KX:.*]] = {{.*}} iter_args(%[[A1:.*]] = %[[A0]]) -> (f32) {
// CHECK: affine.apply
// CHECK: memref.load %arg0
// CHECK: scf.yield
// CHECK: scf.yield %[[R2]] : f32
// CHECK: memref.store %[[R]], %arg2[%[[Y]], %[[X]]]
func.func @window(%in: memref<6x6xf32>, %w: memref<3x3xf32>, %out: memref<4x4xf32>) {
  linalg.generic {indexing_maps = [affine_map<(y, x, ky, kx) -> (y + ky, x + kx)>, affine_map<(y, x, ky, kx) -> (ky, kx)>,
                                   affine_map<(y, x, ky, kx) -> (y, x)>],
                  iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%in, %w : memref<6x6xf32>, memref<3x3xf32>) outs(%out : memref<4x4xf32>) {
  ^bb0(%v: f32, %k: f32, %acc: f32):
    %p = arith.mulf %v, %k : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Must not fire: an elementwise op (no reduction) and one with two outputs
// stay linalg ops.
// CHECK-LABEL: func.func @others
// CHECK-NOT: scf.
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK-NOT: scf.
func.func @others(%a: memref<4x8xf32>, %o: memref<4x8xf32>, %m: memref<4xf32>, %s: memref<4xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]} ins(%a : memref<4x8xf32>) outs(%o : memref<4x8xf32>) {
  ^bb0(%v: f32, %w: f32):
    %e = math.exp %v : f32
    linalg.yield %e : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]} ins(%a : memref<4x8xf32>) outs(%m, %s : memref<4xf32>, memref<4xf32>) {
  ^bb0(%v: f32, %mx: f32, %sm: f32):
    %x = arith.maximumf %mx, %v : f32
    %y = arith.addf %sm, %v : f32
    linalg.yield %x, %y : f32, f32
  }
  return
}

// -----

// The output's content is a zero fill, copied from a buffer that several
// contractions share (bufferization's copies of one fill): the copy goes
// and the loop starts from the constant. The second reduction's source is
// written after its fill, so it keeps its copy and loads its output.
// CHECK-LABEL: func.func @fill_init
// CHECK: linalg.fill ins(%[[ZERO:.*]] : f32) outs(%[[Z:.*]] : memref<4xf32>)
// CHECK-NOT: linalg.copy
// CHECK: scf.parallel
// CHECK-NOT: memref.load %{{.*}}[%{{.*}}] : memref<4xf32>
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[ZERO]])
// CHECK: linalg.generic
// CHECK: linalg.copy ins(%[[Z]] : memref<4xf32>)
// CHECK: scf.parallel
// CHECK: %[[INIT:.*]] = memref.load %{{.*}}[%{{.*}}] : memref<4xf32>
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[INIT]])
func.func @fill_init(%a: memref<4x8xf32>, %b: memref<4xf32>, %arena: memref<?xi8>) {
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  %c128 = arith.constant 128 : index
  %zero = arith.constant 0.0 : f32
  %z = memref.view %arena[%c0][] : memref<?xi8> to memref<4xf32>
  linalg.fill ins(%zero : f32) outs(%z : memref<4xf32>)
  %o1 = memref.view %arena[%c64][] : memref<?xi8> to memref<4xf32>
  linalg.copy ins(%z : memref<4xf32>) outs(%o1 : memref<4xf32>)
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]} ins(%a : memref<4x8xf32>) outs(%o1 : memref<4xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %p = arith.mulf %v, %v : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]}
      ins(%b : memref<4xf32>) outs(%z : memref<4xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  %o2 = memref.view %arena[%c128][] : memref<?xi8> to memref<4xf32>
  linalg.copy ins(%z : memref<4xf32>) outs(%o2 : memref<4xf32>)
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]} ins(%a : memref<4x8xf32>) outs(%o2 : memref<4xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %acc, %v : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// An elementwise op right after a contraction, reading its output through a
// reshape: it runs in the contraction's nest on each sum as it is produced
// (the element's linear index gives its indices), and since nothing else
// reads the contraction's output, that is never stored.
// CHECK-LABEL: func.func @epilogue
// CHECK: %[[OUT3:.*]] = memref.view %arg2[%c128][] : memref<?xi8> to memref<1x4x8xf32>
// CHECK: scf.parallel
// CHECK: %[[SUM:.*]] = scf.for
// CHECK-NOT: memref.store %[[SUM]]
// CHECK: %[[B:.*]] = memref.load %arg1[%{{.*}}] : memref<8xf32>
// CHECK: %[[Y:.*]] = arith.addf %[[SUM]], %[[B]] : f32
// CHECK: memref.store %[[Y]], %[[OUT3]][%{{.*}}, %{{.*}}, %{{.*}}] : memref<1x4x8xf32>
// CHECK-NOT: linalg.generic
func.func @epilogue(%a: memref<4x16xf32>, %bias: memref<8xf32>, %arena: memref<?xi8>, %w: memref<16x8xf32>) {
  %c0 = arith.constant 0 : index
  %c128 = arith.constant 128 : index
  %o = memref.view %arena[%c0][] : memref<?xi8> to memref<4x8xf32>
  linalg.matmul ins(%a, %w : memref<4x16xf32>, memref<16x8xf32>) outs(%o : memref<4x8xf32>)
  %o3 = memref.expand_shape %o [[0, 1], [2]] output_shape [1, 4, 8] : memref<4x8xf32> into memref<1x4x8xf32>
  %y = memref.view %arena[%c128][] : memref<?xi8> to memref<1x4x8xf32>
  linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, j, k)>, affine_map<(i, j, k) -> (k)>, affine_map<(i, j, k) -> (i, j, k)>],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%o3, %bias : memref<1x4x8xf32>, memref<8xf32>) outs(%y : memref<1x4x8xf32>) {
  ^bb0(%v: f32, %b: f32, %unused: f32):
    %s = arith.addf %v, %b : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Must not fuse: the elementwise op's output is where the contraction's
// input was (the arena region reused once the input died), which the
// contraction still reads while the epilogue would write it.
// CHECK-LABEL: func.func @epilogue_overlap
// CHECK: scf.parallel
// CHECK: memref.store
// CHECK: linalg.generic
func.func @epilogue_overlap(%arena: memref<?xi8>, %w: memref<16x8xf32>) {
  %c0 = arith.constant 0 : index
  %c256 = arith.constant 256 : index
  %a = memref.view %arena[%c0][] : memref<?xi8> to memref<4x16xf32>
  %o = memref.view %arena[%c256][] : memref<?xi8> to memref<4x8xf32>
  linalg.matmul ins(%a, %w : memref<4x16xf32>, memref<16x8xf32>) outs(%o : memref<4x8xf32>)
  %y = memref.view %arena[%c0][] : memref<?xi8> to memref<4x8xf32>
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}
      ins(%o : memref<4x8xf32>) outs(%y : memref<4x8xf32>) {
  ^bb0(%v: f32, %unused: f32):
    %e = math.exp %v : f32
    linalg.yield %e : f32
  }
  return
}

// -----

// An epilogue that reads the contraction's output with its dims permuted
// (attention's [heads, seq, dim] back to [seq, heads, dim], narrowed to
// f16): each sum is stored at the permuted index. A read map that is not
// a permutation (a broadcast) is not fused.
// CHECK-LABEL: func.func @permuted_epilogue
// CHECK: scf.parallel (%{{.*}}, %{{.*}}, %[[D:.*]]) =
// CHECK: %[[SUM:.*]] = scf.for
// CHECK-NOT: memref.store %[[SUM]]
// The element's linear index in [2, 4, 8], split back into (h, s, d)...
// CHECK: %[[LIN:.*]] = arith.addi %{{.*}}, %[[D]] : index
// CHECK: %[[D2:.*]] = arith.remui %[[LIN]], %[[C8:.*]] : index
// CHECK: %[[HS:.*]] = arith.divui %[[LIN]], %[[C8]] : index
// CHECK: %[[S2:.*]] = arith.remui %[[HS]], %[[C4:.*]] : index
// CHECK: %[[H2:.*]] = arith.divui %[[HS]], %[[C4]] : index
// ...and stored at (s, h, d).
// CHECK: %[[Y:.*]] = arith.truncf %[[SUM]] : f32 to f16
// CHECK: memref.store %[[Y]], %{{.*}}[%[[S2]], %[[H2]], %[[D2]]] : memref<4x2x8xf16>
// CHECK-NOT: linalg.generic
// CHECK-LABEL: func.func @broadcast_epilogue
// CHECK: scf.parallel
// CHECK: linalg.generic
#pa = affine_map<(h, s, d, k) -> (h, s, k)>
#pb = affine_map<(h, s, d, k) -> (h, k, d)>
#pc = affine_map<(h, s, d, k) -> (h, s, d)>
func.func @permuted_epilogue(%a: memref<2x4x16xf32>, %w: memref<2x16x8xf32>, %arena: memref<?xi8>) {
  %c0 = arith.constant 0 : index
  %c512 = arith.constant 512 : index
  %o = memref.view %arena[%c0][] : memref<?xi8> to memref<2x4x8xf32>
  linalg.generic {indexing_maps = [#pa, #pb, #pc], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<2x4x16xf32>, memref<2x16x8xf32>) outs(%o : memref<2x4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  %t = memref.view %arena[%c512][] : memref<?xi8> to memref<4x2x8xf16>
  linalg.generic {indexing_maps = [affine_map<(s, h, d) -> (h, s, d)>, affine_map<(s, h, d) -> (s, h, d)>],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%o : memref<2x4x8xf32>) outs(%t : memref<4x2x8xf16>) {
  ^bb0(%v: f32, %unused: f16):
    %h = arith.truncf %v : f32 to f16
    linalg.yield %h : f16
  }
  return
}
func.func @broadcast_epilogue(%a: memref<2x4x16xf32>, %w: memref<2x16x8xf32>, %arena: memref<?xi8>) {
  %c0 = arith.constant 0 : index
  %c512 = arith.constant 512 : index
  %o = memref.view %arena[%c0][] : memref<?xi8> to memref<2x4x8xf32>
  linalg.generic {indexing_maps = [#pa, #pb, #pc], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<2x4x16xf32>, memref<2x16x8xf32>) outs(%o : memref<2x4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  %t = memref.view %arena[%c512][] : memref<?xi8> to memref<2x4x8xf32>
  linalg.generic {indexing_maps = [affine_map<(h, s, d) -> (h, 0, d)>, affine_map<(h, s, d) -> (h, s, d)>],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%o : memref<2x4x8xf32>) outs(%t : memref<2x4x8xf32>) {
  ^bb0(%v: f32, %unused: f32):
    %e = math.exp %v : f32
    linalg.yield %e : f32
  }
  return
}

// -----

// Fused, but the contraction's output is read again later: it is stored too.
// CHECK-LABEL: func.func @epilogue_and_store
// CHECK: %[[SUM:.*]] = scf.for
// CHECK: memref.store %[[SUM]], %{{.*}} : memref<4x8xf32>
// CHECK: math.exp %[[SUM]]
// CHECK: linalg.copy
func.func @epilogue_and_store(%a: memref<4x16xf32>, %w: memref<16x8xf32>, %arena: memref<?xi8>, %keep: memref<4x8xf32>) {
  %c0 = arith.constant 0 : index
  %c128 = arith.constant 128 : index
  %o = memref.view %arena[%c0][] : memref<?xi8> to memref<4x8xf32>
  linalg.matmul ins(%a, %w : memref<4x16xf32>, memref<16x8xf32>) outs(%o : memref<4x8xf32>)
  %y = memref.view %arena[%c128][] : memref<?xi8> to memref<4x8xf32>
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}
      ins(%o : memref<4x8xf32>) outs(%y : memref<4x8xf32>) {
  ^bb0(%v: f32, %unused: f32):
    %e = math.exp %v : f32
    linalg.yield %e : f32
  }
  linalg.copy ins(%o : memref<4x8xf32>) outs(%keep : memref<4x8xf32>)
  return
}
