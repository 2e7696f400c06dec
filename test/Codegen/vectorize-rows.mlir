// RUN: tern-opt %s --tern-vectorize-rows="vector-bits=128" --canonicalize --split-input-file | FileCheck %s

// A depthwise convolution's two taps on 6-wide rows (4 lanes: one whole
// vector, one masked to 2): the rows form a parallel loop over (c, i); the
// weights per channel are loaded once per row and broadcast; the taps are
// vectors read in place from the strided slices.
// CHECK-LABEL: func.func @depthwise
// CHECK: scf.parallel (%[[C:.+]], %[[I:.+]]) =
// CHECK: memref.load %arg2[%[[C]], %c0]
// CHECK: vector.broadcast
// CHECK: memref.load %arg2[%[[C]], %c1]
// CHECK: vector.broadcast
// CHECK: vector.load %arg0[%[[C]], %[[I]], %c0] : memref<3x6x6xf32, strided<[64, 8, 1]>>, vector<4xf32>
// CHECK: vector.load %arg1[%[[C]], %[[I]], %c0]
// CHECK: arith.mulf {{.+}} : vector<4xf32>
// CHECK: vector.store %{{.+}}, %arg3[%[[C]], %[[I]], %c0]
// CHECK: %[[M:.+]] = vector.constant_mask [2] : vector<4xi1>
// CHECK: vector.maskedload %arg0[%[[C]], %[[I]], %c4], %[[M]]
// CHECK: vector.maskedload %arg1[%[[C]], %[[I]], %c4], %[[M]]
// CHECK: vector.maskedstore %arg3[%[[C]], %[[I]], %c4], %[[M]]
// CHECK-NOT: linalg.generic
#x = affine_map<(c, i, j) -> (c, i, j)>
#w0 = affine_map<(c, i, j) -> (c, 0)>
#w1 = affine_map<(c, i, j) -> (c, 1)>
func.func @depthwise(%x0: memref<3x6x6xf32, strided<[64, 8, 1]>>, %x1: memref<3x6x6xf32, strided<[64, 8, 1], offset: 1>>,
                     %w: memref<3x2xf32>, %out: memref<3x6x6xf32>) {
  linalg.generic {indexing_maps = [#x, #w0, #x, #w1, #x], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x0, %w, %x1, %w : memref<3x6x6xf32, strided<[64, 8, 1]>>, memref<3x2xf32>, memref<3x6x6xf32, strided<[64, 8, 1], offset: 1>>, memref<3x2xf32>)
      outs(%out : memref<3x6x6xf32>) {
  ^bb0(%a: f32, %wa: f32, %b: f32, %wb: f32, %o: f32):
    %p = arith.mulf %a, %wa : f32
    %q = arith.mulf %b, %wb : f32
    %s = arith.addf %p, %q : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A ReLU6 on 7-wide rows: a whole vector and one masked to 3 lanes per
// row; the constants splat.
// CHECK-LABEL: func.func @clip
// CHECK-DAG: %[[SIX:.+]] = arith.constant dense<6.000000e+00> : vector<4xf32>
// CHECK: scf.parallel
// CHECK: arith.minimumf %{{.+}}, %[[SIX]] : vector<4xf32>
// CHECK: vector.store
// CHECK: vector.constant_mask [3] : vector<4xi1>
// CHECK: arith.minimumf %{{.+}}, %[[SIX]] : vector<4xf32>
// CHECK: vector.maskedstore
#id = affine_map<(c, j) -> (c, j)>
func.func @clip(%x: memref<8x7xf32>, %out: memref<8x7xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<8x7xf32>) outs(%out : memref<8x7xf32>) {
  ^bb0(%a: f32, %o: f32):
    %zero = arith.constant 0.0 : f32
    %six = arith.constant 6.0 : f32
    %lo = arith.maximumf %a, %zero : f32
    %hi = arith.minimumf %lo, %six : f32
    linalg.yield %hi : f32
  }
  return
}

// -----

// Rows of whole vectors (8 = 2 x 4) with a scale per row: rewritten, so the
// scale is loaded once per row instead of once per element.
// CHECK-LABEL: func.func @scale_rows
// CHECK: scf.parallel (%[[R:.+]]) =
// CHECK: %[[S:.+]] = memref.load %arg1[%[[R]]]
// CHECK: vector.broadcast %[[S]]
// CHECK-COUNT-2: vector.store
// CHECK-NOT: vector.maskedstore
#row = affine_map<(r, j) -> (r)>
#rj = affine_map<(r, j) -> (r, j)>
func.func @scale_rows(%x: memref<5x8xf32>, %s: memref<5xf32>, %out: memref<5x8xf32>) {
  linalg.generic {indexing_maps = [#rj, #row, #rj], iterator_types = ["parallel", "parallel"]}
      ins(%x, %s : memref<5x8xf32>, memref<5xf32>) outs(%out : memref<5x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    linalg.yield %p : f32
  }
  return
}

// -----

// Left to LLVM: rows that are whole vectors (with no per-row or strided
// input), rows read with a stride from a buffer that is not a view of a
// contiguous one (an argument's strided layout), a row position read by an input other than
// as its last dim (a transpose), reductions, integer divisions, and i1
// buffers (a byte per element, where a vector of i1 packs bits).
// CHECK-LABEL: func.func @left
// CHECK-NOT: vector.
// CHECK-COUNT-6: linalg.generic
// CHECK-NOT: vector.
#id = affine_map<(i, j) -> (i, j)>
#t = affine_map<(i, j) -> (j, i)>
#r = affine_map<(i, j) -> (i)>
func.func @left(%a: memref<6x8xf32>, %b: memref<6x8xf32>, %s: memref<6x6xf32, strided<[12, 2]>>, %c: memref<6x6xf32>,
                %t: memref<6x6xf32>, %sum: memref<6xf32>, %ia: memref<6x6xi32>, %ib: memref<6x6xi32>,
                %m: memref<6x6xi1>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<6x8xf32>) outs(%b : memref<6x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.negf %x : f32
    linalg.yield %y : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s : memref<6x6xf32, strided<[12, 2]>>) outs(%c : memref<6x6xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.negf %x : f32
    linalg.yield %y : f32
  }
  linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%t : memref<6x6xf32>) outs(%c : memref<6x6xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  linalg.generic {indexing_maps = [#id, #r], iterator_types = ["parallel", "reduction"]}
      ins(%c : memref<6x6xf32>) outs(%sum : memref<6xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.addf %x, %o : f32
    linalg.yield %y : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%ia : memref<6x6xi32>) outs(%ib : memref<6x6xi32>) {
  ^bb0(%x: i32, %o: i32):
    %y = arith.divsi %x, %x : i32
    linalg.yield %y : i32
  }
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%m, %t : memref<6x6xi1>, memref<6x6xf32>) outs(%c : memref<6x6xf32>) {
  ^bb0(%p: i1, %x: f32, %o: f32):
    %zero = arith.constant 0.0 : f32
    %y = arith.select %p, %x, %zero : f32
    linalg.yield %y : f32
  }
  return
}

// -----

// A stride-2 depthwise tap: a view of the padded input every second
// column. Each vector of 4 outputs is one contiguous load of 8 from the
// padded buffer and its even lanes picked out: a plain load where all 8
// lie inside the 12-wide row (the first vector, columns 1-8), else a
// masked one that stops at the last tap needed (the last vector, 1 lane
// valid, loads 1). A stride-5 view stays scalar.
// CHECK-LABEL: func.func @strided
// CHECK: scf.parallel (%[[C:.+]], %[[I:.+]]) =
// CHECK: %[[ROW:.+]] = arith.muli %[[I]], %c2
// CHECK: %[[ROW1:.+]] = arith.addi %[[ROW]], %c1
// CHECK: %[[W:.+]] = vector.load %arg0[%[[C]], %[[ROW1]], %c1] : memref<3x12x12xf32>, vector<8xf32>
// CHECK: vector.shuffle %[[W]], %[[W]] [0, 2, 4, 6] : vector<8xf32>, vector<8xf32>
// CHECK: vector.store
// CHECK: %[[M1:.+]] = vector.constant_mask [1] : vector<8xi1>
// CHECK: vector.maskedload %arg0[%[[C]], %{{.+}}, %c9], %[[M1]]
// CHECK: vector.maskedstore
// CHECK: linalg.generic
#xs = affine_map<(c, i, j) -> (c, i, j)>
#ws = affine_map<(c, i, j) -> (c)>
func.func @strided(%padded: memref<3x12x12xf32>, %w: memref<3xf32>, %out: memref<3x5x5xf32>, %out5: memref<3x2x2xf32>) {
  %tap = memref.subview %padded[0, 1, 1] [3, 5, 5] [1, 2, 2] : memref<3x12x12xf32> to memref<3x5x5xf32, strided<[144, 24, 2], offset: 13>>
  linalg.generic {indexing_maps = [#xs, #ws, #xs], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%tap, %w : memref<3x5x5xf32, strided<[144, 24, 2], offset: 13>>, memref<3xf32>) outs(%out : memref<3x5x5xf32>) {
  ^bb0(%a: f32, %wa: f32, %o: f32):
    %p = arith.mulf %a, %wa : f32
    linalg.yield %p : f32
  }
  %tap5 = memref.subview %padded[0, 0, 0] [3, 2, 2] [1, 5, 5] : memref<3x12x12xf32> to memref<3x2x2xf32, strided<[144, 60, 5]>>
  linalg.generic {indexing_maps = [#xs, #ws, #xs], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%tap5, %w : memref<3x2x2xf32, strided<[144, 60, 5]>>, memref<3xf32>) outs(%out5 : memref<3x2x2xf32>) {
  ^bb0(%a: f32, %wa: f32, %o: f32):
    %p = arith.mulf %a, %wa : f32
    linalg.yield %p : f32
  }
  return
}

// -----

// Rows of whole vectors read with a stride (a max pool's taps): LLVM's
// loop vectorizer makes scalar code of them, so they are vectorized here
// too, each tap one contiguous load of twice the lanes and a shuffle:
// plain, as all 8 lanes lie inside the 12-wide row (a masked load of 7
// would stop at the last lane needed).
// CHECK-LABEL: func.func @strided_whole
// CHECK: scf.parallel
// CHECK: %[[A:.+]] = vector.load %arg0{{.+}} : memref<3x12x12xf32>, vector<8xf32>
// CHECK: vector.shuffle %[[A]], %[[A]] [0, 2, 4, 6]
// CHECK: %[[B:.+]] = vector.load %arg0{{.+}} : memref<3x12x12xf32>, vector<8xf32>
// CHECK: vector.shuffle %[[B]], %[[B]] [0, 2, 4, 6]
// CHECK-NOT: vector.maskedload
// CHECK: arith.maximumf {{.+}} : vector<4xf32>
// CHECK: vector.store {{.+}} : memref<3x4x4xf32>, vector<4xf32>
// CHECK-NOT: linalg.generic
#pw = affine_map<(c, i, j) -> (c, i, j)>
func.func @strided_whole(%padded: memref<3x12x12xf32>, %out: memref<3x4x4xf32>) {
  %t0 = memref.subview %padded[0, 0, 0] [3, 4, 4] [1, 2, 2] : memref<3x12x12xf32> to memref<3x4x4xf32, strided<[144, 24, 2]>>
  %t1 = memref.subview %padded[0, 0, 1] [3, 4, 4] [1, 2, 2] : memref<3x12x12xf32> to memref<3x4x4xf32, strided<[144, 24, 2], offset: 1>>
  linalg.generic {indexing_maps = [#pw, #pw, #pw], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%t0, %t1 : memref<3x4x4xf32, strided<[144, 24, 2]>>, memref<3x4x4xf32, strided<[144, 24, 2], offset: 1>>)
      outs(%out : memref<3x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.maximumf %a, %b : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// A window's gather (an int8 convolution's patches, each tap a row of 16
// channels) in whole vectors: LLVM unrolled such a row into byte moves once
// its length was a constant. The tap's input row sits at o + k.
// CHECK-LABEL: func.func @window_gather
// CHECK: scf.parallel (%[[OH:.+]], %[[OW:.+]], %[[KH:.+]], %[[KW:.+]]) =
// CHECK-DAG: %[[H:.+]] = arith.addi %[[OH]], %[[KH]] : index
// CHECK-DAG: %[[W:.+]] = arith.addi %[[OW]], %[[KW]] : index
// CHECK: %[[V:.+]] = vector.load %arg0[%c0, %[[H]], %[[W]], %c0] : memref<1x6x6x16xi8>, vector<16xi8>
// CHECK: vector.store %[[V]], %arg1[%[[OH]], %[[OW]], %[[KH]], %[[KW]], %c0] : memref<4x4x3x3x16xi8>, vector<16xi8>
// CHECK-NOT: linalg.generic
func.func @window_gather(%x: memref<1x6x6x16xi8>, %p: memref<4x4x3x3x16xi8>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (0, d0 + d2, d1 + d3, d4)>,
                                   affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : memref<1x6x6x16xi8>) outs(%p : memref<4x4x3x3x16xi8>) {
  ^bb0(%in: i8, %out: i8):
    linalg.yield %in : i8
  }
  return
}
