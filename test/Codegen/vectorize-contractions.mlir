// RUN: tern-opt %s --tern-vectorize-contractions="vector-bits=128 rows=4 vectors=2" --canonicalize --split-input-file | FileCheck %s

// A matmul becomes a parallel loop over panels of 2 x 4 columns; each panel
// runs a 4-row kernel (8 accumulators carried through the k loop), then one
// kernel of the 2 rows left (10 = 2 * 4 + 2; not a row at a time, a chain
// of FMAs each): its 4 accumulators too few to keep the FMAs busy, k is
// dealt to two sets of them (steps of 2 up to 6, the 7th on the first set),
// summed before the store. B, read where it lies, has the next panel's line
// prefetched. The last panel (37 = 4 * 8 + 5 columns) has constant masks:
// its first vector whole, the second one lane.
// CHECK-LABEL: func.func @matmul
// CHECK-NOT: step %c512
// CHECK-DAG: %[[C5:.+]] = arith.constant 5 : index
// CHECK: scf.parallel (%[[P:.+]]) = (%{{.+}}) to (%[[C5]])
// CHECK: scf.if
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c4
// CHECK-COUNT-8: vector.load %arg2
// CHECK: scf.for {{.+}} iter_args({{.+}}) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>)
// CHECK: vector.load %arg1
// CHECK: vector.load %arg1
// CHECK: memref.prefetch %arg1
// CHECK: memref.load %arg0
// CHECK: vector.broadcast
// CHECK-COUNT-2: vector.fma
// CHECK: scf.yield
// CHECK-COUNT-8: vector.store
// CHECK: scf.for %[[K:.+]] = %c0 to %c6 step %c2 iter_args({{.+}}) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>)
// CHECK: memref.load %arg0[%c8, %[[K]]]
// CHECK: memref.load %arg0[%c9, %[[K]]]
// CHECK: %[[K1:.+]] = arith.addi %[[K]], %c1
// CHECK: memref.load %arg0[%c8, %[[K1]]]
// CHECK: memref.load %arg0[%c9, %[[K1]]]
// CHECK: scf.yield
// CHECK: memref.load %arg0[%c8, %c6]
// CHECK: memref.load %arg0[%c9, %c6]
// CHECK-COUNT-4: arith.addf
// CHECK-COUNT-4: vector.store
// CHECK: } else {
// CHECK: %[[M:.+]] = vector.constant_mask [1] : vector<4xi1>
// CHECK-NOT: memref.prefetch
// CHECK: vector.load %arg1
// CHECK: vector.maskedload %arg1{{.+}}, %[[M]]
// CHECK-NOT: memref.prefetch
// CHECK: vector.store
// CHECK: vector.maskedstore %arg2{{.+}}, %[[M]]
// CHECK-NOT: linalg.matmul
func.func @matmul(%a: memref<10x7xf32>, %b: memref<7x37xf32>, %c: memref<10x37xf32>) {
  linalg.matmul ins(%a, %b : memref<10x7xf32>, memref<7x37xf32>) outs(%c : memref<10x37xf32>)
  return
}

// -----

// n a whole number of panels (16 = 2 x 8 columns): no branch to a partial
// panel, no masks.
// CHECK-LABEL: func.func @whole_panels
// CHECK: scf.parallel
// CHECK-NOT: scf.if
// CHECK-NOT: mask
// CHECK: vector.fma
// CHECK-NOT: scf.if
// CHECK-NOT: mask
// CHECK: return
func.func @whole_panels(%a: memref<4x3xf32>, %b: memref<3x16xf32>, %c: memref<4x16xf32>) {
  linalg.matmul ins(%a, %b : memref<4x3xf32>, memref<3x16xf32>) outs(%c : memref<4x16xf32>)
  return
}

// -----

// A deep k (1536 >= 3 blocks of 512: a panel's block of B, 512 x 8 floats,
// is 16 KB) is cut into blocks, each panel running all its rows per block:
// the first block starts from the fill, the others from C's partial sums;
// all but the last store them to C. With k = 7 (@matmul) nothing is cut.
// CHECK-LABEL: func.func @deep_k
// CHECK: scf.parallel
// CHECK: scf.for %[[K0:.+]] = %c0 to %c1536 step %c512 {
// CHECK: scf.for
// CHECK: %[[FIRST:.+]] = arith.cmpi eq, %[[K0]], %c0 : index
// CHECK: %[[C:.+]] = vector.load %arg2
// CHECK: arith.select %[[FIRST]], %{{.+}}, %[[C]] : vector<4xf32>
// CHECK: %[[END:.+]] = arith.addi %[[K0]], %c512 : index
// CHECK: %[[TO:.+]] = arith.minui %[[END]], %c1536 : index
// CHECK: scf.for %{{.+}} = %[[K0]] to %[[TO]] step %c1
// One panel (n = 8): no next panel to prefetch.
// CHECK-NOT: memref.prefetch
// CHECK: vector.fma
// CHECK: %[[LAST:.+]] = arith.cmpi sge, %{{.+}}, %c1536 : index
// CHECK: scf.if %[[LAST]] {
// CHECK: vector.store
// CHECK: } else {
// CHECK: vector.store
// CHECK-NOT: linalg.matmul
func.func @deep_k(%a: memref<16x1536xf32>, %b: memref<1536x8xf32>, %c: memref<16x8xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<16x8xf32>)
  linalg.matmul ins(%a, %b : memref<16x1536xf32>, memref<1536x8xf32>) outs(%c : memref<16x8xf32>)
  return
}

// -----

// Constant weights packed into panels against a row-major A (a
// transformer's matmul) stream in order: k stays whole.
// CHECK-LABEL: func.func @deep_k_packed
// CHECK-NOT: step %c512
// CHECK: scf.parallel
// CHECK-NOT: step %c512
// CHECK: return
memref.global "private" constant @w : memref<1536x8xf32> = dense<0.5>
func.func @deep_k_packed(%a: memref<16x1536xf32>, %c: memref<16x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %b = memref.get_global @w : memref<1536x8xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<16x8xf32>)
  linalg.matmul ins(%a, %b : memref<16x1536xf32>, memref<1536x8xf32>) outs(%c : memref<16x8xf32>)
  return
}

// -----

// A batched matmul whose B is shared by the batch (batch index 0, as a
// broadcast lowers) runs batch and m as one flattened row dim (a row's
// batch and m indices split from it); with B per batch (attention's
// matmuls), the batch dim joins the parallel loop. Sizes are dynamic.
// CHECK-LABEL: func.func @batched
// CHECK: scf.parallel (%[[P:.+]]) =
// CHECK: arith.remui
// CHECK: arith.divui
// CHECK: memref.load %arg0[%{{.+}}, %{{.+}}, %{{.+}}] : memref<?x?x?xf32>
// CHECK: vector.load %arg1[%c0, %{{.+}}, %{{.+}}] : memref<1x?x?xf32>, vector<4xf32>
// CHECK: scf.parallel (%[[B:.+]], %[[Q:.+]]) =
// CHECK: vector.load %arg3[%[[B]], %{{.+}}, %{{.+}}] : memref<?x?x?xf32>, vector<4xf32>
// CHECK-NOT: linalg.generic
#a = affine_map<(b, m, n, k) -> (b, m, k)>
#b = affine_map<(b, m, n, k) -> (0, k, n)>
#bb = affine_map<(b, m, n, k) -> (b, k, n)>
#c = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @batched(%a: memref<?x?x?xf32>, %b: memref<1x?x?xf32>, %c: memref<?x?x?xf32>, %b2: memref<?x?x?xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<?x?x?xf32>, memref<1x?x?xf32>) outs(%c : memref<?x?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#a, #bb, #c], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b2 : memref<?x?x?xf32>, memref<?x?x?xf32>) outs(%c : memref<?x?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A read transposed (Gemm's transA; a pointwise convolution over a small
// map, positions as rows) by two panels: copied once into tiles of 4 rows,
// each k's 4 values in a line of 8 floats (the last tile's 2 rows read
// masked), which the kernels then read in order instead of one cache line
// of A per k.
// CHECK-LABEL: func.func @transposed_a
// CHECK: %[[P:.+]] = memref.alloc() {alignment = 64 : i64} : memref<3x7x8xf32>
// CHECK: scf.parallel (%[[T:.+]]) = (%c0) to (%c3)
// CHECK: %[[M:.+]] = vector.create_mask %{{.+}} : vector<8xi1>
// CHECK: scf.for %[[K:.+]] = %c0 to %c7
// CHECK: %[[X:.+]] = vector.maskedload %arg0[%[[K]], %{{.+}}], %[[M]]
// CHECK: vector.store %[[X]], %[[P]][%[[T]], %[[K]], %c0]
// CHECK: scf.parallel
// CHECK-NOT: %arg0
// CHECK: memref.load %[[P]]
// CHECK-NOT: %arg0
// CHECK: vector.fma
// CHECK-NOT: %arg0
// CHECK: return
func.func @transposed_a(%a: memref<7x10xf32>, %b: memref<7x16xf32>, %c: memref<10x16xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (k, n)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<7x10xf32>, memref<7x16xf32>) outs(%c : memref<10x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// The same with images counted at run time (x[image][k][m], the images a
// row dim of their own): rows numbered across the images as the kernel
// counts them, ceil(N x 10 / 4) tiles; a tile within one image is one
// load per k masked at the image's end, a tile across two (rows 8..11 are
// image 0's 8, 9 and image 1's 0, 1) is gathered a lane at a time, each
// lane's image and position found once, not per k.
// CHECK-LABEL: func.func @transposed_a_images
// CHECK: %[[N:.+]] = memref.dim %arg0, %c0
// CHECK: %[[R:.+]] = arith.muli %[[N]], %c10
// CHECK: %[[P:.+]] = memref.alloc(%[[TILES:.+]]) {alignment = 64 : i64} : memref<?x7x8xf32>
// CHECK: scf.parallel (%[[T:.+]]) = (%c0) to (%[[TILES]])
// CHECK: %[[W:.+]] = arith.cmpi sle
// CHECK: scf.if %[[W]] {
// CHECK: scf.for %[[K:.+]] = %c0 to %c7
// CHECK: %[[X:.+]] = vector.maskedload %arg0[%{{.+}}, %[[K]], %{{.+}}]
// CHECK: vector.store %[[X]], %[[P]][%[[T]], %[[K]], %c0]
// CHECK: } else {
// CHECK-COUNT-8: arith.divui
// CHECK: scf.for %[[K2:.+]] = %c0 to %c7
// CHECK-NOT: arith.divui
// CHECK-COUNT-8: memref.load %arg0[%{{.+}}, %[[K2]], %{{.+}}]
// CHECK: vector.store %{{.+}}, %[[P]][%[[T]], %[[K2]], %c0]
// CHECK: scf.parallel
// CHECK-NOT: %arg0
// CHECK: memref.load %[[P]]
// CHECK-NOT: %arg0
// CHECK: vector.fma
// CHECK-NOT: %arg0
// CHECK: return
func.func @transposed_a_images(%a: memref<?x7x10xf32>, %b: memref<7x16xf32>, %c: memref<?x10x16xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, m, n, k) -> (i, k, m)>, affine_map<(i, m, n, k) -> (k, n)>,
                                   affine_map<(i, m, n, k) -> (i, m, n)>],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<?x7x10xf32>, memref<7x16xf32>) outs(%c : memref<?x10x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A read transposed by one panel only (8 columns): read once anyway, not
// packed.
// CHECK-LABEL: func.func @transposed_a_one_panel
// CHECK-NOT: memref.alloc
// CHECK: memref.load %arg0[%{{.+}}, %{{.+}}] : memref<7x10xf32>
// CHECK: vector.fma
func.func @transposed_a_one_panel(%a: memref<7x10xf32>, %b: memref<7x8xf32>, %c: memref<10x8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (k, n)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<7x10xf32>, memref<7x8xf32>) outs(%c : memref<10x8xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// An integer matmul (a quantized model's, zero points subtracted in i32):
// the same kernel with integer multiply-adds; its epilogue converts to f32
// and applies the scales per column on the accumulators.
// CHECK-LABEL: func.func @integer
// CHECK: scf.parallel
// CHECK: scf.for {{.+}} -> (vector<4xi32>, vector<4xi32>,
// CHECK: vector.load %arg1{{.+}} : memref<7x16xi32>, vector<4xi32>
// CHECK: memref.load %arg0{{.+}} : memref<10x7xi32>
// CHECK: arith.muli {{.+}} : vector<4xi32>
// CHECK: arith.addi {{.+}} : vector<4xi32>
// CHECK: arith.sitofp {{.+}} : vector<4xi32> to vector<4xf32>
// CHECK: vector.load %arg2{{.+}} : memref<16xf32>, vector<4xf32>
// CHECK: arith.mulf {{.+}} : vector<4xf32>
// CHECK: vector.store {{.+}} : memref<10x16xf32>, vector<4xf32>
// CHECK-NOT: linalg.
func.func @integer(%a: memref<10x7xi32>, %b: memref<7x16xi32>, %scale: memref<16xf32>) -> memref<10x16xf32> {
  %zero = arith.constant 0 : i32
  %c = memref.alloc() : memref<10x16xi32>
  linalg.fill ins(%zero : i32) outs(%c : memref<10x16xi32>)
  linalg.matmul ins(%a, %b : memref<10x7xi32>, memref<7x16xi32>) outs(%c : memref<10x16xi32>)
  %out = memref.alloc() : memref<10x16xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>,
                                   affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%c, %scale : memref<10x16xi32>, memref<16xf32>) outs(%out : memref<10x16xf32>) {
  ^bb0(%x: i32, %s: f32, %o: f32):
    %f = arith.sitofp %x : i32 to f32
    %y = arith.mulf %f, %s : f32
    linalg.yield %y : f32
  }
  return %out : memref<10x16xf32>
}

// -----

// Must not fire: B read along k (transB on a run-time B), an i16 matmul
// (the kernels compute in f32 or i32), a matmul on tensors, a body that is not a multiply-add, and an A
// that reads n.
// CHECK-LABEL: func.func @not_contractions
// CHECK-NOT: vector.
// CHECK: linalg.generic
// CHECK: linalg.matmul ins(%arg3, %arg3 : memref<4x4xi16>
// CHECK: linalg.matmul ins(%arg4, %arg4 : tensor<4x4xf32>
// CHECK: arith.maximumf
// CHECK: linalg.generic
// CHECK-NOT: vector.
func.func @not_contractions(%a: memref<10x7xf32>, %bt: memref<16x7xf32>, %c: memref<10x16xf32>,
                            %i: memref<4x4xi16>, %t: tensor<4x4xf32>, %x: memref<4x4x4xf32>, %y: memref<4xf32>,
                            %b: memref<7x16xf32>) -> tensor<4x4xf32> {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %bt : memref<10x7xf32>, memref<16x7xf32>) outs(%c : memref<10x16xf32>) {
  ^bb0(%p0: f32, %p1: f32, %acc: f32):
    %p = arith.mulf %p0, %p1 : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.matmul ins(%i, %i : memref<4x4xi16>, memref<4x4xi16>) outs(%i : memref<4x4xi16>)
  %0 = linalg.matmul ins(%t, %t : tensor<4x4xf32>, tensor<4x4xf32>) outs(%t : tensor<4x4xf32>) -> tensor<4x4xf32>
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<10x7xf32>, memref<7x16xf32>) outs(%c : memref<10x16xf32>) {
  ^bb0(%p0: f32, %p1: f32, %acc: f32):
    %p = arith.mulf %p0, %p1 : f32
    %s = arith.maximumf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, n, k)>, affine_map<(m, n, k) -> (k)>,
                                   affine_map<(m, n, k) -> (m)>],
                  iterator_types = ["parallel", "reduction", "reduction"]}
      ins(%x, %y : memref<4x4x4xf32>, memref<4xf32>) outs(%y : memref<4xf32>) {
  ^bb0(%p0: f32, %p1: f32, %acc: f32):
    %p = arith.mulf %p0, %p1 : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return %0 : tensor<4x4xf32>
}

// -----

// Constant weights are packed at compile time into [panels][k][8] (the
// 10 columns of B padded to 16), read without masks; the original global,
// read by nothing else, goes. Transposed constant weights (Gemm's transB)
// are packed the same way; a global that something else reads stays.
// CHECK: memref.global "private" constant @w_packed8 : memref<2x3x8xf32> = dense_resource<w_packed8>
// CHECK-NOT: memref.global "private" constant @w :
// CHECK: memref.global "private" constant @wt_packed_t8 : memref<1x2x8xf32> = dense_resource<wt_packed_t8>
// CHECK: memref.global "private" constant @wt :
// CHECK-LABEL: func.func @packed
// CHECK: %[[P:.+]] = memref.get_global @w_packed8
// CHECK: scf.parallel (%[[J:.+]]) =
// CHECK: vector.load %[[P]][%[[J]], %{{.+}}, %c0] : memref<2x3x8xf32>, vector<4xf32>
// CHECK: vector.load %[[P]][%[[J]], %{{.+}}, %c4] : memref<2x3x8xf32>, vector<4xf32>
// CHECK: memref.get_global @wt_packed_t8
// CHECK-NOT: vector.maskedload %[[P]]
// Panel 0 holds columns 0-7 of rows 0, 1, 2 (0..7, 10..17, 20..27), panel
// 1 columns 8-9 and zeros; the transposed one [1, 3, 5, 0...], [2, 4, 6, 0...].
// CHECK: w_packed8: "0x40000000000000000000803F0000004000004040000080400000A0400000C0400000E04000002041{{0+}}30410000404100005041000060410000704100008041000088410000A0410000A8410000B0410000B8410000C0410000C8410000D0410000D8410000004100001041{{0+}}90410000984100000000{{0+}}E0410000E841{{0+}}"
// CHECK: wt_packed_t8: "0x400000000000803F000040400000A040{{0+}}40000080400000C040{{0+}}"
memref.global "private" constant @w : memref<3x10xf32> = dense<[[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
                                                              [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0],
                                                              [20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0]]>
memref.global "private" constant @wt : memref<3x2xf32> = dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]>
func.func @packed(%a: memref<5x3xf32>, %c: memref<5x10xf32>, %a2: memref<5x2xf32>, %c2: memref<5x3xf32>) -> memref<3x2xf32> {
  %w = memref.get_global @w : memref<3x10xf32>
  linalg.matmul ins(%a, %w : memref<5x3xf32>, memref<3x10xf32>) outs(%c : memref<5x10xf32>)
  %wt = memref.get_global @wt : memref<3x2xf32>
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a2, %wt : memref<5x2xf32>, memref<3x2xf32>) outs(%c2 : memref<5x3xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return %wt : memref<3x2xf32>
}

// -----

// Epilogue: the bias add and ReLU after the matmul (read through an
// expand_shape, the output allocated in between) run on the accumulators;
// C, read by nothing else, is never stored; the zero init copied from a
// shared zero-filled buffer becomes a constant start, and the copy goes.
// CHECK-LABEL: func.func @epilogue
// CHECK-NOT: memref.copy
// CHECK: %[[ZERO:.+]] = arith.constant dense<0.000000e+00> : vector<4xf32>
// CHECK: %[[OUT:.+]] = memref.alloc() : memref<1x8x16xf32>
// CHECK: scf.parallel
// CHECK: scf.for {{.+}} iter_args(%{{.+}} = %[[ZERO]],
// CHECK: vector.load %arg2[%{{.+}}] : memref<16xf32>, vector<4xf32>
// CHECK: memref.load %arg3[%{{.+}}] : memref<8xf32>
// CHECK: arith.addf %{{.+}} : vector<4xf32>
// CHECK: arith.maximumf %{{.+}} : vector<4xf32>
// CHECK: vector.store %{{.+}}, %[[OUT]][%c0, %{{.+}}, %{{.+}}] : memref<1x8x16xf32>, vector<4xf32>
// CHECK-NOT: vector.store %{{.+}}, %alloc_0
// CHECK-NOT: linalg.generic
// CHECK: return %[[OUT]]
func.func @epilogue(%a: memref<8x5xf32>, %b: memref<5x16xf32>, %bias: memref<16xf32>, %rowscale: memref<8xf32>) -> memref<1x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %z = memref.alloc() : memref<8x16xf32>
  linalg.fill ins(%zero : f32) outs(%z : memref<8x16xf32>)
  %c = memref.alloc() : memref<8x16xf32>
  memref.copy %z, %c : memref<8x16xf32> to memref<8x16xf32>
  linalg.matmul ins(%a, %b : memref<8x5xf32>, memref<5x16xf32>) outs(%c : memref<8x16xf32>)
  %e = memref.expand_shape %c [[0, 1], [2]] output_shape [1, 8, 16] : memref<8x16xf32> into memref<1x8x16xf32>
  %out = memref.alloc() : memref<1x8x16xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d2)>,
                                   affine_map<(d0, d1, d2) -> (d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%e, %bias, %rowscale : memref<1x8x16xf32>, memref<16xf32>, memref<8xf32>) outs(%out : memref<1x8x16xf32>) {
  ^bb0(%x: f32, %y: f32, %s: f32, %o: f32):
    %0 = arith.addf %x, %y : f32
    %1 = arith.mulf %0, %s : f32
    %2 = arith.maximumf %1, %zero : f32
    linalg.yield %2 : f32
  }
  return %out : memref<1x8x16xf32>
}

// -----

// C read again later: the epilogue is fused, C stored as well. A fill of C
// itself is folded into the kernel.
// CHECK-LABEL: func.func @epilogue_and_c
// CHECK-NOT: linalg.fill
// CHECK: scf.parallel
// CHECK: vector.store %{{.+}}, %arg2[
// CHECK: arith.negf %{{.+}} : vector<4xf32>
// CHECK: vector.store %{{.+}}, %arg3[
// CHECK: linalg.copy ins(%arg2
func.func @epilogue_and_c(%a: memref<8x5xf32>, %b: memref<5x16xf32>, %c: memref<8x16xf32>, %d: memref<8x16xf32>,
                          %f: memref<8x16xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<8x16xf32>)
  linalg.matmul ins(%a, %b : memref<8x5xf32>, memref<5x16xf32>) outs(%c : memref<8x16xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<8x16xf32>) outs(%d : memref<8x16xf32>) {
  ^bb0(%x: f32, %o: f32):
    %0 = arith.negf %x : f32
    linalg.yield %0 : f32
  }
  linalg.copy ins(%c : memref<8x16xf32>) outs(%f : memref<8x16xf32>)
  return
}

// -----

// Must not fire as epilogues: an op writing memory between the matmul and
// the elementwise op; an elementwise op reading C transposed; one reading
// its own output. The matmuls are still vectorized and store C.
// CHECK-LABEL: func.func @no_epilogue
// CHECK-COUNT-3: linalg.generic
// CHECK-NOT: linalg.matmul
func.func @no_epilogue(%a: memref<8x5xf32>, %b: memref<5x16xf32>, %c: memref<8x16xf32>, %d: memref<8x16xf32>,
                       %sq: memref<16x16xf32>, %sq2: memref<16x16xf32>, %a16: memref<16x5xf32>) {
  %one = arith.constant 1.0 : f32
  linalg.matmul ins(%a, %b : memref<8x5xf32>, memref<5x16xf32>) outs(%c : memref<8x16xf32>)
  linalg.fill ins(%one : f32) outs(%d : memref<8x16xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<8x16xf32>) outs(%d : memref<8x16xf32>) {
  ^bb0(%x: f32, %o: f32):
    %0 = arith.negf %x : f32
    linalg.yield %0 : f32
  }
  linalg.matmul ins(%a16, %b : memref<16x5xf32>, memref<5x16xf32>) outs(%sq : memref<16x16xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%sq : memref<16x16xf32>) outs(%sq2 : memref<16x16xf32>) {
  ^bb0(%x: f32, %o: f32):
    %0 = arith.negf %x : f32
    linalg.yield %0 : f32
  }
  linalg.matmul ins(%a, %b : memref<8x5xf32>, memref<5x16xf32>) outs(%c : memref<8x16xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<8x16xf32>) outs(%d : memref<8x16xf32>) {
  ^bb0(%x: f32, %o: f32):
    %0 = arith.addf %x, %o : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

// The epilogue writes the interior of a padded buffer (the next
// convolution's input), whose border is zeroed in between: the kernel runs
// after the fill and stores into the interior. A fill of the matmul's own
// input in between keeps the epilogue apart.
// CHECK-LABEL: func.func @epilogue_into_padded
// CHECK: %[[P:.+]] = memref.alloc() : memref<10x18xf32>
// CHECK: linalg.fill ins(%{{.+}} : f32) outs(%[[P]]
// CHECK: %[[S:.+]] = memref.subview %[[P]][1, 1] [8, 16] [1, 1]
// CHECK: scf.parallel
// CHECK: arith.maximumf %{{.+}} : vector<4xf32>
// CHECK: vector.store %{{.+}}, %[[S]][
// CHECK: linalg.fill ins(%{{.+}} : f32) outs(%[[A:.+]] : memref<8x5xf32>)
// CHECK: linalg.generic
// CHECK-NOT: linalg.matmul
func.func @epilogue_into_padded(%a: memref<8x5xf32>, %b: memref<5x16xf32>) -> (memref<10x18xf32>, memref<8x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<8x16xf32>
  linalg.matmul ins(%a, %b : memref<8x5xf32>, memref<5x16xf32>) outs(%c : memref<8x16xf32>)
  %p = memref.alloc() : memref<10x18xf32>
  linalg.fill ins(%zero : f32) outs(%p : memref<10x18xf32>)
  %s = memref.subview %p[1, 1] [8, 16] [1, 1] : memref<10x18xf32> to memref<8x16xf32, strided<[18, 1], offset: 19>>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<8x16xf32>) outs(%s : memref<8x16xf32, strided<[18, 1], offset: 19>>) {
  ^bb0(%x: f32, %o: f32):
    %0 = arith.maximumf %x, %zero : f32
    linalg.yield %0 : f32
  }
  %a2 = memref.alloc() : memref<8x5xf32>
  %c2 = memref.alloc() : memref<8x16xf32>
  %d = memref.alloc() : memref<8x16xf32>
  linalg.copy ins(%a : memref<8x5xf32>) outs(%a2 : memref<8x5xf32>)
  linalg.matmul ins(%a2, %b : memref<8x5xf32>, memref<5x16xf32>) outs(%c2 : memref<8x16xf32>)
  linalg.fill ins(%zero : f32) outs(%a2 : memref<8x5xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%c2 : memref<8x16xf32>) outs(%d : memref<8x16xf32>) {
  ^bb0(%x: f32, %o: f32):
    %0 = arith.maximumf %x, %zero : f32
    linalg.yield %0 : f32
  }
  return %p, %d : memref<10x18xf32>, memref<8x16xf32>
}

// -----

// Convolution weights [F, C, KH, KW] collapsed to [F, C*KH*KW] and read
// transposed (out^T = patches^T x w^T) are packed from the 4-D global; the
// global and its collapse go.
// CHECK-LABEL: memref.global "private" constant @cw_packed_t8 : memref<1x4x8xf32>
// CHECK-NOT: @cw :
// CHECK-LABEL: func.func @conv_weights
// CHECK-NOT: memref.collapse_shape
// CHECK: memref.get_global @cw_packed_t8
memref.global "private" constant @cw : memref<8x1x2x2xf32> = dense<1.0>
func.func @conv_weights(%p: memref<4x3xf32>, %c: memref<3x8xf32>) {
  %w = memref.get_global @cw : memref<8x1x2x2xf32>
  %w2 = memref.collapse_shape %w [[0], [1, 2, 3]] : memref<8x1x2x2xf32> into memref<8x4xf32>
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (n, k)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%p, %w2 : memref<4x3xf32>, memref<8x4xf32>) outs(%c : memref<3x8xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A convolution as a contraction read in place: rows are the output
// positions (oh, ow) flattened, split per row; k runs as three nested loops
// (c, kh, kw) over the padded input through the window map; the filters
// [F, C, KH, KW] are packed as [F/8][C*KH*KW][8].
// CHECK-LABEL: memref.global "private" constant @filters_packed_t8 : memref<1x18x8xf32>
// CHECK-LABEL: func.func @conv_in_place
// CHECK: arith.remui %{{.+}}, %c3
// CHECK: arith.divui %{{.+}}, %c3
// CHECK: scf.for %[[C:.+]] = %c0 to %c2
// CHECK: scf.for %[[KH:.+]] = %c0 to %c3
// CHECK: scf.for %[[KW:.+]] = %c0 to %c3
// CHECK: vector.load %{{.+}}[%{{.+}}, %{{.+}}, %c0] : memref<1x18x8xf32>, vector<4xf32>
// CHECK: memref.load %arg0[%c0, %[[C]], %{{.+}}, %{{.+}}] : memref<1x2x5x5xf32>
// CHECK: vector.fma
// CHECK-NOT: linalg.generic
memref.global "private" constant @filters : memref<8x2x3x3xf32> = dense<1.0>
func.func @conv_in_place(%x: memref<1x2x5x5xf32>, %out: memref<3x3x8xf32>) {
  %w = memref.get_global @filters : memref<8x2x3x3xf32>
  linalg.generic {indexing_maps = [affine_map<(oh, ow, f, c, kh, kw) -> (0, c, oh + kh, ow + kw)>,
                                   affine_map<(oh, ow, f, c, kh, kw) -> (f, c, kh, kw)>,
                                   affine_map<(oh, ow, f, c, kh, kw) -> (oh, ow, f)>],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : memref<1x2x5x5xf32>, memref<8x2x3x3xf32>) outs(%out : memref<3x3x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A bias broadcast into C just before the matmul: the accumulators start
// from the bias (a vector along n, or one value per row) and the broadcast
// goes. A broadcast through a transposing map is kept.
// CHECK-LABEL: func.func @bias_init
// CHECK-NOT: linalg.generic
// CHECK: vector.load %arg2[%{{.+}}] : memref<16xf32>, vector<4xf32>
// CHECK: memref.load %arg5[%{{.+}}] : memref<8xf32>
// CHECK: linalg.generic
// CHECK-NOT: linalg.generic
func.func @bias_init(%a: memref<8x5xf32>, %b: memref<5x16xf32>, %bias: memref<16xf32>, %c: memref<8x16xf32>,
                     %c2: memref<8x16xf32>, %rowbias: memref<8xf32>, %sq: memref<16x16xf32>, %a16: memref<16x5xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%bias : memref<16xf32>) outs(%c : memref<8x16xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  linalg.matmul ins(%a, %b : memref<8x5xf32>, memref<5x16xf32>) outs(%c : memref<8x16xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%rowbias : memref<8xf32>) outs(%c2 : memref<8x16xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  linalg.matmul ins(%a, %b : memref<8x5xf32>, memref<5x16xf32>) outs(%c2 : memref<8x16xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%sq : memref<16x16xf32>) outs(%sq : memref<16x16xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  linalg.matmul ins(%a16, %b : memref<16x5xf32>, memref<5x16xf32>) outs(%sq : memref<16x16xf32>)
  return
}

// -----

// Regression: a view of C made before the matmul and read after the fused
// epilogue keeps C stored (the epilogue's result goes to %d as well).
// CHECK-LABEL: func.func @view_of_c_read_later
// CHECK: %[[V:.+]] = memref.expand_shape %arg2
// CHECK: vector.store %{{.+}}, %arg2[
// CHECK: arith.negf %{{.+}} : vector<4xf32>
// CHECK: vector.store %{{.+}}, %arg3[
// CHECK: linalg.copy ins(%[[V]]
func.func @view_of_c_read_later(%a: memref<8x5xf32>, %b: memref<5x16xf32>, %c: memref<8x16xf32>, %d: memref<8x16xf32>,
                                %f: memref<1x8x16xf32>) {
  %v = memref.expand_shape %c [[0, 1], [2]] output_shape [1, 8, 16] : memref<8x16xf32> into memref<1x8x16xf32>
  linalg.matmul ins(%a, %b : memref<8x5xf32>, memref<5x16xf32>) outs(%c : memref<8x16xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<8x16xf32>) outs(%d : memref<8x16xf32>) {
  ^bb0(%x: f32, %o: f32):
    %0 = arith.negf %x : f32
    linalg.yield %0 : f32
  }
  linalg.copy ins(%v : memref<1x8x16xf32>) outs(%f : memref<1x8x16xf32>)
  return
}

// -----

// C filled with a constant by a generic without inputs (a zero bias
// broadcast, folded) just before the matmul: the accumulators start from
// the constant and the fill goes. A fill of a run-time value is kept.
// CHECK-LABEL: func.func @constant_generic_init
// CHECK-NOT: linalg.generic
// CHECK: arith.constant dense<2.000000e+00> : vector<4xf32>
// CHECK: linalg.generic
// CHECK: linalg.yield %arg4
// CHECK-NOT: linalg.generic
func.func @constant_generic_init(%a: memref<8x5xf32>, %b: memref<5x16xf32>, %c: memref<8x16xf32>, %c2: memref<8x16xf32>, %s: f32) {
  %two = arith.constant 2.0 : f32
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      outs(%c : memref<8x16xf32>) {
  ^bb0(%o: f32):
    linalg.yield %two : f32
  }
  linalg.matmul ins(%a, %b : memref<8x5xf32>, memref<5x16xf32>) outs(%c : memref<8x16xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      outs(%c2 : memref<8x16xf32>) {
  ^bb0(%o: f32):
    linalg.yield %s : f32
  }
  linalg.matmul ins(%a, %b : memref<8x5xf32>, memref<5x16xf32>) outs(%c2 : memref<8x16xf32>)
  return
}

// -----

// C's columns are an image's positions, expanded into rows ([4, 12] ->
// [4, 2, 6]: a 1x1 convolution's result) and clipped into the interior of
// a padded image [4, 4, 8]. Rows of 6 are not whole vectors of 4: a vector
// may end one row and start the next, so each is stored as one masked
// store per row it touches (lanes [lo, hi) of that row), into a flat view
// of the padded buffer at the row's start less lo.
// CHECK-LABEL: func.func @epilogue_rows_split
// CHECK: arith.minimumf %{{.+}} : vector<4xf32>
// CHECK: %[[FLAT:.+]] = memref.reinterpret_cast %{{.+}} to offset: [9], sizes: [110], strides: [1]
// CHECK: vector.create_mask
// CHECK: vector.maskedstore %[[FLAT]][%{{.+}}]
// CHECK: vector.maskedstore %[[FLAT]][%{{.+}}]
// CHECK-NOT: linalg.generic
// Rows of 8 (whole vectors), or a contiguous output: one store per vector
// at the split indices.
// CHECK-LABEL: func.func @epilogue_rows_whole
// CHECK-NOT: memref.reinterpret_cast
// CHECK: vector.store %{{.+}}, %{{.+}}[%c0{{.*}}, %{{.+}}, %{{.+}}, %{{.+}}] : memref<1x4x2x8xf32, strided<[160, 40, 10, 1], offset: 11>>
// CHECK: vector.store %{{.+}}, %{{.+}}[%{{.+}}, %{{.+}}, %{{.+}}] : memref<4x2x6xf32>
// CHECK-NOT: linalg.generic
// Must not fuse: split stores with another input read along the rows.
// CHECK-LABEL: func.func @epilogue_rows_not
// CHECK: linalg.generic
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @epilogue_rows_split(%a: memref<4x5xf32>, %b: memref<5x12xf32>) -> memref<4x4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %six = arith.constant 6.0 : f32
  %c = memref.alloc() : memref<4x12xf32>
  linalg.matmul ins(%a, %b : memref<4x5xf32>, memref<5x12xf32>) outs(%c : memref<4x12xf32>)
  %e = memref.expand_shape %c [[0], [1, 2]] output_shape [4, 2, 6] : memref<4x12xf32> into memref<4x2x6xf32>
  %p = memref.alloc() : memref<4x4x8xf32>
  linalg.fill ins(%zero : f32) outs(%p : memref<4x4x8xf32>)
  %s = memref.subview %p[0, 1, 1] [4, 2, 6] [1, 1, 1] : memref<4x4x8xf32> to memref<4x2x6xf32, strided<[32, 8, 1], offset: 9>>
  linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%e : memref<4x2x6xf32>) outs(%s : memref<4x2x6xf32, strided<[32, 8, 1], offset: 9>>) {
  ^bb0(%x: f32, %o: f32):
    %0 = arith.maximumf %x, %zero : f32
    %1 = arith.minimumf %0, %six : f32
    linalg.yield %1 : f32
  }
  return %p : memref<4x4x8xf32>
}
func.func @epilogue_rows_whole(%a: memref<4x5xf32>, %b: memref<5x16xf32>, %b12: memref<5x12xf32>) -> (memref<1x4x4x10xf32>, memref<4x2x6xf32>) {
  %zero = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<4x16xf32>
  linalg.matmul ins(%a, %b : memref<4x5xf32>, memref<5x16xf32>) outs(%c : memref<4x16xf32>)
  %e = memref.expand_shape %c [[0, 1], [2, 3]] output_shape [1, 4, 2, 8] : memref<4x16xf32> into memref<1x4x2x8xf32>
  %p = memref.alloc() : memref<1x4x4x10xf32>
  linalg.fill ins(%zero : f32) outs(%p : memref<1x4x4x10xf32>)
  %s = memref.subview %p[0, 0, 1, 1] [1, 4, 2, 8] [1, 1, 1, 1] : memref<1x4x4x10xf32> to memref<1x4x2x8xf32, strided<[160, 40, 10, 1], offset: 11>>
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%e : memref<1x4x2x8xf32>) outs(%s : memref<1x4x2x8xf32, strided<[160, 40, 10, 1], offset: 11>>) {
  ^bb0(%x: f32, %o: f32):
    %0 = arith.maximumf %x, %zero : f32
    linalg.yield %0 : f32
  }
  %c12 = memref.alloc() : memref<4x12xf32>
  linalg.matmul ins(%a, %b12 : memref<4x5xf32>, memref<5x12xf32>) outs(%c12 : memref<4x12xf32>)
  %e12 = memref.expand_shape %c12 [[0], [1, 2]] output_shape [4, 2, 6] : memref<4x12xf32> into memref<4x2x6xf32>
  %o = memref.alloc() : memref<4x2x6xf32>
  linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%e12 : memref<4x2x6xf32>) outs(%o : memref<4x2x6xf32>) {
  ^bb0(%x: f32, %out: f32):
    %0 = arith.maximumf %x, %zero : f32
    linalg.yield %0 : f32
  }
  return %p, %o : memref<1x4x4x10xf32>, memref<4x2x6xf32>
}
func.func @epilogue_rows_not(%a: memref<4x5xf32>, %b: memref<5x12xf32>, %r: memref<4x2x6xf32>) -> memref<4x4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<4x12xf32>
  linalg.matmul ins(%a, %b : memref<4x5xf32>, memref<5x12xf32>) outs(%c : memref<4x12xf32>)
  %e = memref.expand_shape %c [[0], [1, 2]] output_shape [4, 2, 6] : memref<4x12xf32> into memref<4x2x6xf32>
  %p = memref.alloc() : memref<4x4x8xf32>
  linalg.fill ins(%zero : f32) outs(%p : memref<4x4x8xf32>)
  %s = memref.subview %p[0, 1, 1] [4, 2, 6] [1, 1, 1] : memref<4x4x8xf32> to memref<4x2x6xf32, strided<[32, 8, 1], offset: 9>>
  linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%e, %r : memref<4x2x6xf32>, memref<4x2x6xf32>) outs(%s : memref<4x2x6xf32, strided<[32, 8, 1], offset: 9>>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %0 = arith.addf %x, %y : f32
    linalg.yield %0 : f32
  }
  return %p : memref<4x4x8xf32>
}

// -----

// One panel of 8 columns over 64 rows: the rows are cut into 8 chunks of
// 8 that the threads share (a convolution with few filters over a large
// map). 8 rows in one panel stay one task.
// CHECK-LABEL: func.func @row_chunks
// CHECK: scf.parallel (%[[I:.+]]) = (%c0) to (%c8) step (%c1)
// CHECK: %[[FROM:.+]] = arith.muli %[[I]], %c8
// CHECK: %[[END:.+]] = arith.addi %[[FROM]], %c8
// CHECK: %[[TO:.+]] = arith.minui %[[END]], %c64
// CHECK: scf.for %{{.+}} = %[[FROM]] to
// CHECK-NOT: scf.parallel
func.func @row_chunks(%a: memref<64x5xf32>, %b: memref<5x8xf32>, %c: memref<64x8xf32>,
                      %a8: memref<8x5xf32>, %c8: memref<8x8xf32>) {
  linalg.matmul ins(%a, %b : memref<64x5xf32>, memref<5x8xf32>) outs(%c : memref<64x8xf32>)
  linalg.matmul ins(%a8, %b : memref<8x5xf32>, memref<5x8xf32>) outs(%c8 : memref<8x8xf32>)
  return
}

// -----

// B read where it lies (activations: each k a row of its own, far apart in
// a pointwise convolution: here 32 KB, 512 KB over the 16 k) against 16
// tiles of rows: each panel of B is copied once into a stack buffer
// [k][panel] (the last panel's 4 columns into one of their own), which the
// tiles then read, so that its k rows lie in a few pages instead of one
// each. Fewer than 8 tiles (M = 16), or k rows close together (400 bytes
// apart), read B in place.
// CHECK-LABEL: func.func @copied_panels
// CHECK: scf.parallel
// CHECK: scf.if
// CHECK: %[[P:.+]] = memref.alloca() {alignment = 64 : i64} : memref<16x8xf32>
// CHECK: scf.for %[[K:.+]] = %c0 to %c16
// CHECK: %[[X:.+]] = vector.load %arg1[%[[K]], %{{.+}}] : memref<16x100xf32, strided<[8192, 1]>>, vector<4xf32>
// CHECK: vector.store %[[X]], %[[P]][%[[K]], %c0]
// CHECK: vector.store %{{.+}}, %[[P]][%[[K]], %c4]
// CHECK: scf.for
// CHECK: scf.for
// CHECK: vector.load %[[P]]
// CHECK-NOT: vector.load %arg1
// CHECK: } else {
// CHECK: %[[Q:.+]] = memref.alloca() {alignment = 64 : i64} : memref<16x4xf32>
// CHECK: vector.load %[[Q]]
// CHECK-LABEL: func.func @few_tiles
// CHECK-NOT: memref.alloca
// CHECK: vector.load %arg1
// CHECK-LABEL: func.func @rows_close
// CHECK-NOT: memref.alloca
// CHECK: vector.load %arg1
func.func @copied_panels(%a: memref<64x16xf32>, %b: memref<16x100xf32, strided<[8192, 1]>>, %c: memref<64x100xf32>) {
  linalg.matmul ins(%a, %b : memref<64x16xf32>, memref<16x100xf32, strided<[8192, 1]>>) outs(%c : memref<64x100xf32>)
  return
}
func.func @few_tiles(%a: memref<16x16xf32>, %b: memref<16x100xf32, strided<[8192, 1]>>, %c: memref<16x100xf32>) {
  linalg.matmul ins(%a, %b : memref<16x16xf32>, memref<16x100xf32, strided<[8192, 1]>>) outs(%c : memref<16x100xf32>)
  return
}
func.func @rows_close(%a: memref<64x16xf32>, %b: memref<16x100xf32>, %c: memref<64x100xf32>) {
  linalg.matmul ins(%a, %b : memref<64x16xf32>, memref<16x100xf32>) outs(%c : memref<64x100xf32>)
  return
}
