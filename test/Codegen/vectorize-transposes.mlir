// RUN: tern-opt %s --tern-vectorize-transposes="vector-bits=128" --split-input-file | FileCheck %s

// A convolution's [positions, channels] result written back as NCHW with
// its scale per channel ([C, 1]), plus a residual in the output's layout:
// tiles of 4 channels x 4 positions. Transposing the result's i32 tile
// (one per tile) beats transposing the residual's and the output's byte
// tiles (two): the result is loaded along channels for each of the tile's
// positions and transposed, then each output row (a channel) is computed
// along positions, its scale one value broadcast, the residual read as it
// is, and stored as it is. 20 channels are 5 whole tiles; 5 positions leave
// a tile of 1, masked. (Byte tiles on AVX2: resnet50.int8-qdq's epilogues
// with residuals took 68% of its run.)
// CHECK-LABEL: func.func @back_to_nchw
// CHECK: %[[SCALE:.+]] = memref.collapse_shape %arg1 {{\[\[}}0, 1]] : memref<20x1xf32> into memref<20xf32>
// CHECK: scf.for %[[P:.+]] = %{{.+}} to %{{.+}} step %{{.+}} {
// CHECK: scf.for %[[I:.+]] = %{{.+}} to %{{.+}} step %{{.+}} {
// CHECK: vector.load %arg0[%[[I]], %[[P]]] : memref<5x20xi32>, vector<4xi32>
// CHECK-COUNT-8: vector.shuffle {{.+}} : vector<4xi32>, vector<4xi32>
// CHECK: memref.load %[[SCALE]][%[[P]]] : memref<20xf32>
// CHECK: vector.load %arg2[%{{.+}}, %[[P]], %[[I]]] : memref<1x20x5xi8>, vector<4xi8>
// CHECK: arith.mulf {{.+}} : vector<4xf32>
// CHECK: vector.store %{{.+}}, %arg3[%{{.+}}, %[[P]], %[[I]]] : memref<1x20x5xi8>, vector<4xi8>
// CHECK-NOT: vector<4x4xi8>
// CHECK: vector.constant_mask [1] : vector<4xi1>
// CHECK: vector.maskedload %arg2
// CHECK: vector.maskedstore %arg3
// CHECK-NOT: vector<4x4xi8>
// CHECK-NOT: linalg.generic
func.func @back_to_nchw(%c: memref<5x20xi32>, %scale: memref<20x1xf32>, %res: memref<1x20x5xi8>, %out: memref<1x20x5xi8>) {
  linalg.generic {indexing_maps = [affine_map<(n, f, w) -> (w, f)>, affine_map<(n, f, w) -> (f, 0)>,
                                   affine_map<(n, f, w) -> (n, f, w)>, affine_map<(n, f, w) -> (n, f, w)>],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%c, %scale, %res : memref<5x20xi32>, memref<20x1xf32>, memref<1x20x5xi8>) outs(%out : memref<1x20x5xi8>) {
  ^bb0(%x: i32, %s: f32, %r: i8, %o: i8):
    %f = arith.sitofp %x : i32 to f32
    %m = arith.mulf %f, %s : f32
    %rf = arith.sitofp %r : i8 to f32
    %a = arith.addf %m, %rf : f32
    %i = arith.fptosi %a : f32 to i32
    %t = arith.trunci %i : i32 to i8
    linalg.yield %t : i8
  }
  return
}

// -----

// A clip (ReLU6) on the way back to NCHW, into a padded buffer's interior:
// its comparisons' i1 results are lane masks, not 1-bit elements, so the
// tiles stay 4 wide (f32). (Taken as i1 elements, the op was left to LLVM,
// which gathered the strided input one element at a time: mobilenetv2's
// first convolution spent 0.36 ms there.)
// One tile transposed either way (the output's, or the input's): the
// body runs along the channels and the output's tile is transposed.
// CHECK-LABEL: func.func @clip_back_to_nchw
// CHECK: vector.load %arg0[%{{.+}}, %{{.+}}] : memref<6x8xf32>, vector<4xf32>
// CHECK: arith.cmpf olt, {{.+}} : vector<4xf32>
// CHECK-COUNT-8: vector.shuffle {{.+}} : vector<4xf32>, vector<4xf32>
// CHECK-NOT: linalg.generic
func.func @clip_back_to_nchw(%c: memref<6x8xf32>, %padded: memref<1x8x8xf32>) {
  %lo = arith.constant 0.0 : f32
  %hi = arith.constant 6.0 : f32
  %out = memref.subview %padded[0, 0, 1] [1, 8, 6] [1, 1, 1] : memref<1x8x8xf32> to memref<1x8x6xf32, strided<[64, 8, 1], offset: 1>>
  linalg.generic {indexing_maps = [affine_map<(n, f, w) -> (w, f)>, affine_map<(n, f, w) -> (n, f, w)>],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%c : memref<6x8xf32>) outs(%out : memref<1x8x6xf32, strided<[64, 8, 1], offset: 1>>) {
  ^bb0(%x: f32, %o: f32):
    %below = arith.cmpf olt, %x, %lo : f32
    %a = arith.select %below, %lo, %x : f32
    %above = arith.cmpf olt, %hi, %a : f32
    %b = arith.select %above, %hi, %a : f32
    linalg.yield %b : f32
  }
  return
}

// -----

// No outer dims (a [positions, channels] result written back as [channels,
// positions], the image's dims collapsed): the tiles along the channels
// are the parallel loop, which the thread pool splits (they ran serially).
// CHECK-LABEL: func.func @channels_parallel
// CHECK: scf.parallel (%[[P:.+]]) = (%c0) to (%c32) step (%c4)
// CHECK: scf.for
// CHECK: vector.load %arg0[%{{.+}}, %[[P]]] : memref<6x32xf32>, vector<4xf32>
// CHECK-NOT: linalg.generic
func.func @channels_parallel(%c: memref<6x32xf32>, %out: memref<32x6xf32>) {
  linalg.generic {indexing_maps = [affine_map<(f, w) -> (w, f)>, affine_map<(f, w) -> (f, w)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<6x32xf32>) outs(%out : memref<32x6xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.mulf %x, %x : f32
    linalg.yield %y : f32
  }
  return
}

// -----

// An 8-bit input moved to channels last with its top bit flipped (an int8
// convolution's input as bytes to multiply, lib/Conversion LowerQuant.cpp
// byteConv): tiles of 16 x 16 bytes, transposed in four rounds of
// perfect shuffles of whole rows (row 2i, 2i + 1 of a round interleave the
// halves of rows i and i + 8), 8 x 2 shuffles per round. (As one
// vector.transpose of the tile, LLVM's 32 x 32 byte tiles on AVX2 went
// through the stack: 7x slower than copying a byte at a time.)
// CHECK-LABEL: func.func @bytes_channels_last
// CHECK: %[[R0:.+]] = arith.xori %{{.+}} : vector<16xi8>
// CHECK-COUNT-15: arith.xori
// CHECK: vector.shuffle %[[R0]], %{{.+}} [0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23] : vector<16xi8>, vector<16xi8>
// CHECK-NEXT: vector.shuffle %[[R0]], %{{.+}} [8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31] : vector<16xi8>, vector<16xi8>
// CHECK-COUNT-62: vector.shuffle
// CHECK-NOT: vector.shuffle
// CHECK: vector.store %{{.+}}, %arg1[%{{.+}}, %{{.+}}, %{{.+}}] : memref<2x16x32xi8>, vector<16xi8>
// CHECK-NOT: vector.transpose
// CHECK-NOT: linalg.generic
func.func @bytes_channels_last(%x: memref<32x2x16xi8>, %out: memref<2x16x32xi8>) {
  %flip = arith.constant -128 : i8
  linalg.generic {indexing_maps = [affine_map<(h, w, c) -> (c, h, w)>, affine_map<(h, w, c) -> (h, w, c)>],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : memref<32x2x16xi8>) outs(%out : memref<2x16x32xi8>) {
  ^bb0(%v: i8, %o: i8):
    %y = arith.xori %v, %flip : i8
    linalg.yield %y : i8
  }
  return
}

// -----

// Must not fire: no input runs along another dim (a plain elementwise op),
// a dynamic shape, and an input transposed with a stride along its last
// dim.
// CHECK-LABEL: func.func @left_alone
// CHECK-COUNT-3: linalg.generic
// CHECK-NOT: vector.transpose
func.func @left_alone(%a: memref<8x8xf32>, %b: memref<8x8xf32>, %d: memref<?x8xf32>, %e: memref<8x?xf32>,
                      %s: memref<8x8xf32, strided<[16, 2]>>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<8x8xf32>) outs(%b : memref<8x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.mulf %x, %x : f32
    linalg.yield %y : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (j, i)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%e : memref<8x?xf32>) outs(%d : memref<?x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (j, i)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%s : memref<8x8xf32, strided<[16, 2]>>) outs(%b : memref<8x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  return
}

// -----

// Images counted at run time: the dims outside the tile may be dynamic,
// the parallel loop over them runs to the buffer's size.
// CHECK-LABEL: func.func @dynamic_images
// CHECK: %[[N:.+]] = memref.dim %arg1, %{{.+}} : memref<?x20x8xf32>
// CHECK: scf.parallel (%{{.+}}) = (%{{.+}}) to (%[[N]])
// CHECK: vector.shuffle
// CHECK-NOT: linalg.generic
func.func @dynamic_images(%c: memref<?x8x20xf32>, %out: memref<?x20x8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(n, f, w) -> (n, w, f)>, affine_map<(n, f, w) -> (n, f, w)>],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%c : memref<?x8x20xf32>) outs(%out : memref<?x20x8xf32>) {
  ^bb0(%in: f32, %o: f32):
    linalg.yield %in : f32
  }
  return
}
