// RUN: tern-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tern-gpu-row-kernels),canonicalize)' | FileCheck %s
// RUN: tern-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tern-gpu-row-kernels{lanes=1}))' | FileCheck %s --check-prefix=ONE
// RUN: tern-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tern-gpu-row-kernels{tensor-cores=true}),canonicalize)' | FileCheck %s --check-prefix=TC

// A layer norm as tern lowers it, on views of one arena: the sum, the
// mean (one value a row), the squared deviations, their sum and the
// normalization become one launch, a warp per row (16 rows: 4 blocks of 4
// warps). The mean and the variance's sum are read from registers, not
// from memory; lane 0 stores them. The fill of a matmul's output between
// (bytes nothing later in the chain touches, though the sum's buffer is
// among them) moves after the launch; the sums' fills become constants.
// CHECK-LABEL: func.func @layer_norm
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK-DAG: %[[C128:.*]] = arith.constant 128 : index
// CHECK-NOT: linalg.fill
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C4]], %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C128]],
// CHECK: %[[LANE:.*]] = arith.remui %[[TX]], %[[C32]]
// The sum.
// CHECK: %[[SUM:.*]] = scf.for %{{.*}} = %[[LANE]] to %{{.*}} step %[[C32]] iter_args
// CHECK: memref.load %[[X:.*]][
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: scf.if
// CHECK-NEXT: memref.store
// The mean from the sum's register.
// CHECK: %[[MEAN:.*]] = arith.divf
// CHECK: scf.if
// CHECK-NEXT: memref.store %[[MEAN]]
// The squared deviations: a row op, its mean from the register.
// CHECK: scf.for %[[J:.*]] = %[[LANE]] to %{{.*}} step %[[C32]] {
// CHECK-NEXT: memref.load %[[X]][
// CHECK-NEXT: arith.subf %{{.*}}, %[[MEAN]]
// CHECK: memref.store
// CHECK: scf.for
// CHECK-COUNT-5: gpu.shuffle  xor
// The normalization reads neither the mean nor the variance from memory.
// CHECK: scf.for
// CHECK-NEXT: memref.load %[[X]][
// CHECK-NOT: memref.load
// CHECK: math.rsqrt
// CHECK: arith.truncf
// CHECK: memref.store %{{.*}} : memref<1x16x256xf16>
// CHECK: gpu.terminator
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : memref<16x64xf32>)
// CHECK-NOT: linalg.generic
// ONE-LABEL: func.func @layer_norm
// ONE: gpu.launch
// ONE-NOT: gpu.shuffle
// ONE-NOT: linalg.generic
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row3 = affine_map<(d0, d1, d2) -> (d0, d1)>
#keep3 = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
func.func @layer_norm(%arena: memref<?xi8>, %out: memref<1x16x256xf16>) {
  %c0 = arith.constant 0 : index
  %c16384 = arith.constant 16384 : index
  %c32768 = arith.constant 32768 : index
  %c49152 = arith.constant 49152 : index
  %c49216 = arith.constant 49216 : index
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 256.0 : f32
  %eps = arith.constant 1.0e-5 : f32
  %x = memref.view %arena[%c0][] : memref<?xi8> to memref<1x16x256xf32>
  %sq = memref.view %arena[%c16384][] : memref<?xi8> to memref<1x16x256xf32>
  %sum = memref.view %arena[%c32768][] : memref<?xi8> to memref<1x16xf32>
  linalg.fill ins(%zero : f32) outs(%sum : memref<1x16xf32>)
  linalg.generic {indexing_maps = [#id3, #row3], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : memref<1x16x256xf32>) outs(%sum : memref<1x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %o, %a : f32
    linalg.yield %s : f32
  }
  %sum3 = memref.expand_shape %sum [[0], [1, 2]] output_shape [1, 16, 1] : memref<1x16xf32> into memref<1x16x1xf32>
  %mean = memref.view %arena[%c49152][] : memref<?xi8> to memref<1x16x1xf32>
  linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%sum3 : memref<1x16x1xf32>) outs(%mean : memref<1x16x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.divf %a, %n : f32
    linalg.yield %m : f32
  }
  linalg.generic {indexing_maps = [#id3, #keep3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %mean : memref<1x16x256xf32>, memref<1x16x1xf32>) outs(%sq : memref<1x16x256xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %d = arith.subf %a, %m : f32
    %d2 = arith.mulf %d, %d : f32
    linalg.yield %d2 : f32
  }
  %var = memref.view %arena[%c49216][] : memref<?xi8> to memref<1x16xf32>
  linalg.fill ins(%zero : f32) outs(%var : memref<1x16xf32>)
  linalg.generic {indexing_maps = [#id3, #row3], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%sq : memref<1x16x256xf32>) outs(%var : memref<1x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %o, %a : f32
    linalg.yield %s : f32
  }
  %var3 = memref.expand_shape %var [[0], [1, 2]] output_shape [1, 16, 1] : memref<1x16xf32> into memref<1x16x1xf32>
  // The next matmul's output: over the sum's bytes, apart from the rest.
  %mm = memref.view %arena[%c32768][] : memref<?xi8> to memref<16x64xf32>
  linalg.fill ins(%zero : f32) outs(%mm : memref<16x64xf32>)
  linalg.generic {indexing_maps = [#id3, #keep3, #keep3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %var3, %mean : memref<1x16x256xf32>, memref<1x16x1xf32>, memref<1x16x1xf32>) outs(%out : memref<1x16x256xf16>) {
  ^bb0(%a: f32, %v: f32, %m: f32, %o: f16):
    %vn = arith.divf %v, %n : f32
    %ve = arith.addf %vn, %eps : f32
    %r = math.rsqrt %ve : f32
    %d = arith.subf %a, %m : f32
    %y = arith.mulf %d, %r : f32
    %h = arith.truncf %y : f32 to f16
    linalg.yield %h : f16
  }
  return
}

// -----

// The matmul's output is in the squared deviations' bytes: it cannot move
// past the ops that write and read them, so the chain ends before it (the
// sum and the mean; the fill, apart from their bytes, runs beside them),
// and the deviations and their sum make a second one after it (the
// deviations joining the reduction from before).
// CHECK-LABEL: func.func @blocked_by_a_fill
// ONE-LABEL: func.func @blocked_by_a_fill
// CHECK: gpu.launch
// CHECK: arith.divf
// CHECK: scf.for
// CHECK: memref.store %{{.*}} : memref<16x64xf32>
// CHECK: gpu.terminator
// CHECK-NOT: linalg
// CHECK: gpu.launch
// CHECK: arith.subf
// CHECK: gpu.shuffle
// CHECK: gpu.terminator
// CHECK-NOT: linalg
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row3 = affine_map<(d0, d1, d2) -> (d0, d1)>
#keep3 = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
func.func @blocked_by_a_fill(%arena: memref<?xi8>, %out: memref<1x16x256xf32>) {
  %c0 = arith.constant 0 : index
  %c16384 = arith.constant 16384 : index
  %c32768 = arith.constant 32768 : index
  %c49152 = arith.constant 49152 : index
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 256.0 : f32
  %x = memref.view %arena[%c0][] : memref<?xi8> to memref<1x16x256xf32>
  %sq = memref.view %arena[%c16384][] : memref<?xi8> to memref<1x16x256xf32>
  %sum = memref.view %arena[%c32768][] : memref<?xi8> to memref<1x16xf32>
  linalg.fill ins(%zero : f32) outs(%sum : memref<1x16xf32>)
  linalg.generic {indexing_maps = [#id3, #row3], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : memref<1x16x256xf32>) outs(%sum : memref<1x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %o, %a : f32
    linalg.yield %s : f32
  }
  %sum3 = memref.expand_shape %sum [[0], [1, 2]] output_shape [1, 16, 1] : memref<1x16xf32> into memref<1x16x1xf32>
  %mean = memref.view %arena[%c49152][] : memref<?xi8> to memref<1x16x1xf32>
  linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%sum3 : memref<1x16x1xf32>) outs(%mean : memref<1x16x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.divf %a, %n : f32
    linalg.yield %m : f32
  }
  %mm = memref.view %arena[%c16384][] : memref<?xi8> to memref<16x64xf32>
  linalg.fill ins(%zero : f32) outs(%mm : memref<16x64xf32>)
  linalg.generic {indexing_maps = [#id3, #keep3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %mean : memref<1x16x256xf32>, memref<1x16x1xf32>) outs(%sq : memref<1x16x256xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %d = arith.subf %a, %m : f32
    linalg.yield %d : f32
  }
  %var = memref.view %arena[%c32768][] : memref<?xi8> to memref<1x16xf32>
  linalg.fill ins(%zero : f32) outs(%var : memref<1x16xf32>)
  linalg.generic {indexing_maps = [#id3, #row3], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%sq : memref<1x16x256xf32>) outs(%var : memref<1x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %o, %a : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A masked softmax on scores of 4 heads: the mask added in place before it,
// the maximum and the sum in one buffer one after the other (the sum's
// fill between them), the shifted exponentials in place: one launch for
// 4 x 32 rows; every value of a row read by the lane that wrote it.
// CHECK-LABEL: func.func @softmax
// CHECK-NOT: linalg.fill
// CHECK: gpu.launch
// CHECK: scf.for
// CHECK: arith.addf
// CHECK: memref.store
// CHECK: arith.maximumf
// CHECK-COUNT-4: gpu.shuffle  xor {{.*}} : f32
// CHECK: gpu.shuffle  xor
// CHECK-NEXT: %[[MAX:.*]] = arith.maximumf
// CHECK: scf.for
// CHECK: arith.subf %{{.*}}, %[[MAX]]
// CHECK: math.exp
// CHECK: scf.for
// CHECK-COUNT-5: gpu.shuffle  xor {{.*}} : f32
// CHECK: arith.addf
// CHECK: %[[SUM:.*]] = arith.addf
// CHECK: scf.for
// CHECK: arith.divf %{{.*}}, %[[SUM]]
// CHECK: gpu.terminator
// CHECK-NOT: linalg
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#bcast4 = affine_map<(d0, d1, d2, d3) -> (d0, 0, d2, d3)>
#row4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#keep4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>
func.func @softmax(%s: memref<1x4x32x32xf32>, %mask: memref<1x1x32x32xf32>, %out: memref<1x4x32x32xf16>) {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %red = memref.alloc() : memref<1x4x32xf32>
  linalg.generic {indexing_maps = [#id4, #bcast4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%s, %mask : memref<1x4x32x32xf32>, memref<1x1x32x32xf32>) outs(%s : memref<1x4x32x32xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %t = arith.addf %a, %m : f32
    linalg.yield %t : f32
  }
  linalg.fill ins(%ninf : f32) outs(%red : memref<1x4x32xf32>)
  linalg.generic {indexing_maps = [#id4, #row4], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%s : memref<1x4x32x32xf32>) outs(%red : memref<1x4x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    %t = arith.maximumf %o, %a : f32
    linalg.yield %t : f32
  }
  %red4 = memref.expand_shape %red [[0], [1], [2, 3]] output_shape [1, 4, 32, 1] : memref<1x4x32xf32> into memref<1x4x32x1xf32>
  linalg.generic {indexing_maps = [#id4, #keep4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%s, %red4 : memref<1x4x32x32xf32>, memref<1x4x32x1xf32>) outs(%s : memref<1x4x32x32xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %d = arith.subf %a, %m : f32
    %e = math.exp %d : f32
    linalg.yield %e : f32
  }
  linalg.fill ins(%zero : f32) outs(%red : memref<1x4x32xf32>)
  linalg.generic {indexing_maps = [#id4, #row4], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%s : memref<1x4x32x32xf32>) outs(%red : memref<1x4x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    %t = arith.addf %o, %a : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#id4, #keep4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%s, %red4 : memref<1x4x32x32xf32>, memref<1x4x32x1xf32>) outs(%out : memref<1x4x32x32xf16>) {
  ^bb0(%a: f32, %t: f32, %o: f16):
    %q = arith.divf %a, %t : f32
    %h = arith.truncf %q : f32 to f16
    linalg.yield %h : f16
  }
  memref.dealloc %red : memref<1x4x32xf32>
  return
}

// -----

// Must not fire: the op after the division reads its rows transposed (an
// element another row's warp writes), so the chain is the sum and the
// division and the transpose stays an op of its own; a reduction without
// a fill before it (it adds to what the output holds) and one of dynamic
// shape are left to tern-lower-reductions-to-loops.
// CHECK-LABEL: func.func @transposed_reader
// CHECK: gpu.launch
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
// CHECK: linalg.generic {indexing_maps = [#[[T:.*]], #
// CHECK-LABEL: func.func @no_fill
// CHECK-NOT: gpu.launch
// CHECK-LABEL: func.func @dynamic
// CHECK-NOT: gpu.launch
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#t2 = affine_map<(d0, d1) -> (d1, d0)>
#row2 = affine_map<(d0, d1) -> (d0)>
#keep2 = affine_map<(d0, d1) -> (d0, 0)>
func.func @transposed_reader(%x: memref<32x32xf32>, %y: memref<32x32xf32>, %z: memref<32x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %sum = memref.alloc() : memref<32xf32>
  linalg.fill ins(%zero : f32) outs(%sum : memref<32xf32>)
  linalg.generic {indexing_maps = [#id2, #row2], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<32x32xf32>) outs(%sum : memref<32xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %o, %a : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id2, #row2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum : memref<32x32xf32>, memref<32xf32>) outs(%y : memref<32x32xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %q = arith.divf %a, %s : f32
    linalg.yield %q : f32
  }
  linalg.generic {indexing_maps = [#t2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%y : memref<32x32xf32>) outs(%z : memref<32x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  }
  memref.dealloc %sum : memref<32xf32>
  return
}
func.func @no_fill(%x: memref<32x32xf32>, %sum: memref<32xf32>, %y: memref<32x32xf32>) {
  linalg.generic {indexing_maps = [#id2, #row2], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<32x32xf32>) outs(%sum : memref<32xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %o, %a : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id2, #row2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum : memref<32x32xf32>, memref<32xf32>) outs(%y : memref<32x32xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %q = arith.divf %a, %s : f32
    linalg.yield %q : f32
  }
  return
}
func.func @dynamic(%x: memref<?x32xf32>, %sum: memref<?xf32>, %y: memref<?x32xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%sum : memref<?xf32>)
  linalg.generic {indexing_maps = [#id2, #row2], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x32xf32>) outs(%sum : memref<?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %o, %a : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id2, #row2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum : memref<?x32xf32>, memref<?xf32>) outs(%y : memref<?x32xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %q = arith.divf %a, %s : f32
    linalg.yield %q : f32
  }
  return
}

// -----

// Side jobs, on buffers before the memory plan (as the GPU pipeline runs
// the pass): the bias copied into another matmul's output between the
// chain's ops, and the transposing conversion of attention's values after
// it, touch none of the chain's bytes and run in its launch, every thread
// taking every 256th point (2 blocks of 4 warps). Ops that read the
// chain's output, and fills a matmul will start from (its kernel's
// constant), stay; with tensor-cores, the fills that matmuls splitting k
// among blocks start from join too, the second across the two ops before
// it, which touch none of its bytes.
// CHECK-LABEL: func.func @side_jobs
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[C384:.*]] = arith.constant 384 : index
// CHECK: gpu.launch
// CHECK: scf.if
// CHECK: gpu.shuffle
// CHECK: arith.divf
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[C384]] step %[[C256]] {
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[C256]] step %[[C256]] {
// CHECK: arith.truncf
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[ACC:.*]] : memref<64x256xf32>)
// CHECK-NEXT: linalg.generic
// CHECK-SAME: outs(%[[ACC]] : memref<64x256xf32>)
// CHECK: linalg.generic
// CHECK-SAME: ins(%{{.*}} : memref<8x64xf32>) outs(%{{.*}} : memref<64x8xf32>)
// CHECK: linalg.fill
// CHECK-NEXT: linalg.generic
// TC-LABEL: func.func @side_jobs
// TC-NOT: linalg.fill
// TC: gpu.launch
// TC: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} {
// TC: memref.store %{{.*}} : memref<64x256xf32>
// TC: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} {
// TC: memref.store %{{.*}} : memref<64x256xf32>
// TC: gpu.terminator
// TC-NOT: linalg.fill
// TC: linalg.generic
// TC-SAME: outs(%{{.*}} : memref<64x256xf32>)
// TC: linalg.generic
// TC-SAME: outs(%{{.*}} : memref<64x8xf32>)
// TC-NOT: linalg.fill
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row2 = affine_map<(d0, d1) -> (d0)>
#col2 = affine_map<(d0, d1) -> (d1)>
#t2 = affine_map<(d0, d1) -> (d1, d0)>
#vin = affine_map<(d0, d1, d2) -> (d1, d0, d2)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#mA = affine_map<(m, n, k) -> (m, k)>
#mB = affine_map<(m, n, k) -> (k, n)>
#mC = affine_map<(m, n, k) -> (m, n)>
func.func @side_jobs(%x: memref<8x64xf32>, %bias: memref<48xf32>, %v: memref<8x4x8xf32>, %a: memref<64x768xf16>,
                     %w: memref<768x256xf16>) -> (memref<8x64xf32>, memref<8x48xf32>, memref<4x8x8xf16>, memref<64x8xf32>, memref<64x256xf32>, memref<64x256xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %max = memref.alloc() : memref<8xf32>
  linalg.fill ins(%ninf : f32) outs(%max : memref<8xf32>)
  linalg.generic {indexing_maps = [#id2, #row2], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x64xf32>) outs(%max : memref<8xf32>) {
  ^bb0(%i: f32, %o: f32):
    %t = arith.maximumf %o, %i : f32
    linalg.yield %t : f32
  }
  %mm = memref.alloc() : memref<8x48xf32>
  linalg.generic {indexing_maps = [#col2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%bias : memref<48xf32>) outs(%mm : memref<8x48xf32>) {
  ^bb0(%i: f32, %o: f32):
    linalg.yield %i : f32
  }
  %out = memref.alloc() : memref<8x64xf32>
  linalg.generic {indexing_maps = [#id2, #row2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x, %max : memref<8x64xf32>, memref<8xf32>) outs(%out : memref<8x64xf32>) {
  ^bb0(%i: f32, %m: f32, %o: f32):
    %q = arith.divf %i, %m : f32
    linalg.yield %q : f32
  }
  %vt = memref.alloc() : memref<4x8x8xf16>
  linalg.generic {indexing_maps = [#vin, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%v : memref<8x4x8xf32>) outs(%vt : memref<4x8x8xf16>) {
  ^bb0(%i: f32, %o: f16):
    %h = arith.truncf %i : f32 to f16
    linalg.yield %h : f16
  }
  %acc = memref.alloc() : memref<64x256xf32>
  linalg.fill ins(%zero : f32) outs(%acc : memref<64x256xf32>)
  linalg.generic {indexing_maps = [#mA, #mB, #mC], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<64x768xf16>, memref<768x256xf16>) outs(%acc : memref<64x256xf32>) {
  ^bb0(%p: f16, %q: f16, %o: f32):
    %pf = arith.extf %p : f16 to f32
    %qf = arith.extf %q : f16 to f32
    %pq = arith.mulf %pf, %qf : f32
    %s = arith.addf %o, %pq : f32
    linalg.yield %s : f32
  }
  %outT = memref.alloc() : memref<64x8xf32>
  linalg.generic {indexing_maps = [#t2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%out : memref<8x64xf32>) outs(%outT : memref<64x8xf32>) {
  ^bb0(%i: f32, %o: f32):
    linalg.yield %i : f32
  }
  %acc2 = memref.alloc() : memref<64x256xf32>
  linalg.fill ins(%zero : f32) outs(%acc2 : memref<64x256xf32>)
  linalg.generic {indexing_maps = [#mA, #mB, #mC], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<64x768xf16>, memref<768x256xf16>) outs(%acc2 : memref<64x256xf32>) {
  ^bb0(%p: f16, %q: f16, %o: f32):
    %pf = arith.extf %p : f16 to f32
    %qf = arith.extf %q : f16 to f32
    %pq = arith.mulf %pf, %qf : f32
    %s = arith.addf %o, %pq : f32
    linalg.yield %s : f32
  }
  return %out, %mm, %vt, %outT, %acc, %acc2 : memref<8x64xf32>, memref<8x48xf32>, memref<4x8x8xf16>, memref<64x8xf32>, memref<64x256xf32>, memref<64x256xf32>
}

// -----

// Regression: a gather loads its table inside its body, at computed
// indices (no indexing map describes those reads). Its table here is
// written by the op before it, which stays (it reads the chain's output
// transposed), so the gather must not run beside the chain: it was moved into the
// launch, ahead of the table's writer, and read stale values (the ONNX
// softmax cross-entropy cases under --emulate-gpu).
// CHECK-LABEL: func.func @gather_after
// CHECK: gpu.launch
// CHECK: gpu.terminator
// CHECK: linalg.generic
// CHECK-SAME: outs(%[[TABLE:.*]] : memref<64x8xf32>)
// CHECK: linalg.generic
// CHECK: memref.load %[[TABLE]]
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#t2 = affine_map<(d0, d1) -> (d1, d0)>
#row2 = affine_map<(d0, d1) -> (d0)>
#id1 = affine_map<(d0) -> (d0)>
func.func @gather_after(%x: memref<8x64xf32>, %idx: memref<8xi64>) -> (memref<8x64xf32>, memref<8xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %max = memref.alloc() : memref<8xf32>
  linalg.fill ins(%ninf : f32) outs(%max : memref<8xf32>)
  linalg.generic {indexing_maps = [#id2, #row2], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x64xf32>) outs(%max : memref<8xf32>) {
  ^bb0(%i: f32, %o: f32):
    %t = arith.maximumf %o, %i : f32
    linalg.yield %t : f32
  }
  %out = memref.alloc() : memref<8x64xf32>
  linalg.generic {indexing_maps = [#id2, #row2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x, %max : memref<8x64xf32>, memref<8xf32>) outs(%out : memref<8x64xf32>) {
  ^bb0(%i: f32, %m: f32, %o: f32):
    %q = arith.subf %i, %m : f32
    linalg.yield %q : f32
  }
  %table = memref.alloc() : memref<64x8xf32>
  linalg.generic {indexing_maps = [#t2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%out : memref<8x64xf32>) outs(%table : memref<64x8xf32>) {
  ^bb0(%i: f32, %o: f32):
    %e = math.exp %i : f32
    linalg.yield %e : f32
  }
  %g = memref.alloc() : memref<8xf32>
  linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%idx : memref<8xi64>) outs(%g : memref<8xf32>) {
  ^bb0(%ji: i64, %o: f32):
    %j = arith.index_cast %ji : i64 to index
    %r = linalg.index 0 : index
    %v = memref.load %table[%j, %r] : memref<64x8xf32>
    linalg.yield %v : f32
  }
  return %out, %g : memref<8x64xf32>, memref<8xf32>
}

// -----

// Must not fire: a side job of more than 256 points per thread of the
// launch (one row: one block of 128 threads) stays a launch of its own.
// CHECK-LABEL: func.func @too_big_a_side_job
// CHECK: gpu.launch
// CHECK: gpu.terminator
// CHECK: linalg.generic
// CHECK-SAME: outs(%{{.*}} : memref<256x256xf32>)
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row2 = affine_map<(d0, d1) -> (d0)>
func.func @too_big_a_side_job(%x: memref<1x64xf32>, %y: memref<256x256xf32>) -> (memref<1x64xf32>, memref<256x256xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %max = memref.alloc() : memref<1xf32>
  linalg.fill ins(%ninf : f32) outs(%max : memref<1xf32>)
  linalg.generic {indexing_maps = [#id2, #row2], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<1x64xf32>) outs(%max : memref<1xf32>) {
  ^bb0(%i: f32, %o: f32):
    %t = arith.maximumf %o, %i : f32
    linalg.yield %t : f32
  }
  %out = memref.alloc() : memref<1x64xf32>
  linalg.generic {indexing_maps = [#id2, #row2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x, %max : memref<1x64xf32>, memref<1xf32>) outs(%out : memref<1x64xf32>) {
  ^bb0(%i: f32, %m: f32, %o: f32):
    %q = arith.subf %i, %m : f32
    linalg.yield %q : f32
  }
  %copy = memref.alloc() : memref<256x256xf32>
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%y : memref<256x256xf32>) outs(%copy : memref<256x256xf32>) {
  ^bb0(%i: f32, %o: f32):
    %n = arith.negf %i : f32
    linalg.yield %n : f32
  }
  return %out, %copy : memref<1x64xf32>, memref<256x256xf32>
}

// -----

// A matmul between the chain's ops moves after the launch; the fill it
// starts from, before it, may still run in the launch (the fill of a
// matmul splitting k, with tensor-cores): it stays before the matmul.
// Without tensor-cores the fill stays, right before its matmul.
// CHECK-LABEL: func.func @fill_then_deferred_matmul
// CHECK: gpu.launch
// CHECK: gpu.terminator
// CHECK: linalg.fill
// CHECK-NEXT: linalg.generic
// CHECK-SAME: outs(%{{.*}} : memref<64x256xf32>)
// TC-LABEL: func.func @fill_then_deferred_matmul
// TC: gpu.launch
// TC: arith.truncf
// TC: arith.negf
// TC: memref.store %{{.*}} : memref<64x256xf32>
// TC: gpu.terminator
// TC-NOT: linalg.fill
// TC: linalg.generic
// TC-SAME: outs(%{{.*}} : memref<64x256xf32>)
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row2 = affine_map<(d0, d1) -> (d0)>
#mA = affine_map<(m, n, k) -> (m, k)>
#mB = affine_map<(m, n, k) -> (k, n)>
#mC = affine_map<(m, n, k) -> (m, n)>
func.func @fill_then_deferred_matmul(%x: memref<64x768xf32>, %w: memref<768x256xf16>)
    -> (memref<64xf32>, memref<64x256xf32>, memref<64x768xf32>) {
  %zero = arith.constant 0.0 : f32
  %sum = memref.alloc() : memref<64xf32>
  linalg.fill ins(%zero : f32) outs(%sum : memref<64xf32>)
  linalg.generic {indexing_maps = [#id2, #row2], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<64x768xf32>) outs(%sum : memref<64xf32>) {
  ^bb0(%i: f32, %o: f32):
    %t = arith.addf %o, %i : f32
    linalg.yield %t : f32
  }
  %a16 = memref.alloc() : memref<64x768xf16>
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<64x768xf32>) outs(%a16 : memref<64x768xf16>) {
  ^bb0(%i: f32, %o: f16):
    %h = arith.truncf %i : f32 to f16
    linalg.yield %h : f16
  }
  %acc = memref.alloc() : memref<64x256xf32>
  linalg.fill ins(%zero : f32) outs(%acc : memref<64x256xf32>)
  linalg.generic {indexing_maps = [#mA, #mB, #mC], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a16, %w : memref<64x768xf16>, memref<768x256xf16>) outs(%acc : memref<64x256xf32>) {
  ^bb0(%p: f16, %q: f16, %o: f32):
    %pf = arith.extf %p : f16 to f32
    %qf = arith.extf %q : f16 to f32
    %pq = arith.mulf %pf, %qf : f32
    %s = arith.addf %o, %pq : f32
    linalg.yield %s : f32
  }
  %y = memref.alloc() : memref<64x768xf32>
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<64x768xf32>) outs(%y : memref<64x768xf32>) {
  ^bb0(%i: f32, %o: f32):
    %n = arith.negf %i : f32
    linalg.yield %n : f32
  }
  return %sum, %acc, %y : memref<64xf32>, memref<64x256xf32>, memref<64x768xf32>
}

// -----

// Adjacent all-parallel ops that share no bytes one writes (GPT-2's query
// and key transposes after its split QKV matmul) run as one launch: blocks
// of 256 threads, each taking every 256th point of each op. The op that
// reads one of their outputs stays; so does one right after a reduction
// that reads its output (tern-lower-reductions-to-loops runs it as that
// reduction's epilogue), which leaves a single op, not merged.
// CHECK-LABEL: func.func @independent_ops
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[C512:.*]] = arith.constant 512 : index
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}}) threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C256]],
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[C512]] step %[[C256]]
// CHECK: arith.truncf
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[C512]] step %[[C256]]
// CHECK: arith.mulf
// CHECK: gpu.terminator
// CHECK: linalg.generic
// CHECK-SAME: ins(%{{.*}} : memref<32x16xf16>)
// CHECK-LABEL: func.func @epilogue_stays
// CHECK-NOT: gpu.launch
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#t2 = affine_map<(d0, d1) -> (d1, d0)>
#mA = affine_map<(m, n, k) -> (m, k)>
#mB = affine_map<(m, n, k) -> (k, n)>
#mC = affine_map<(m, n, k) -> (m, n)>
func.func @independent_ops(%x: memref<16x32xf32>) -> (memref<32x16xf16>, memref<16x32xf32>, memref<32x16xf32>) {
  %two = arith.constant 2.0 : f32
  %a = memref.alloc() : memref<32x16xf16>
  linalg.generic {indexing_maps = [#t2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<16x32xf32>) outs(%a : memref<32x16xf16>) {
  ^bb0(%i: f32, %o: f16):
    %h = arith.truncf %i : f32 to f16
    linalg.yield %h : f16
  }
  %b = memref.alloc() : memref<16x32xf32>
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<16x32xf32>) outs(%b : memref<16x32xf32>) {
  ^bb0(%i: f32, %o: f32):
    %d = arith.mulf %i, %two : f32
    linalg.yield %d : f32
  }
  %c = memref.alloc() : memref<32x16xf32>
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<32x16xf16>) outs(%c : memref<32x16xf32>) {
  ^bb0(%i: f16, %o: f32):
    %e = arith.extf %i : f16 to f32
    linalg.yield %e : f32
  }
  return %a, %b, %c : memref<32x16xf16>, memref<16x32xf32>, memref<32x16xf32>
}
func.func @epilogue_stays(%x: memref<16x32xf32>, %w: memref<32x8xf32>) -> (memref<16x8xf32>, memref<16x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %two = arith.constant 2.0 : f32
  %acc = memref.alloc() : memref<16x8xf32>
  linalg.fill ins(%zero : f32) outs(%acc : memref<16x8xf32>)
  linalg.generic {indexing_maps = [#mA, #mB, #mC], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<16x32xf32>, memref<32x8xf32>) outs(%acc : memref<16x8xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %pq = arith.mulf %p, %q : f32
    %s = arith.addf %o, %pq : f32
    linalg.yield %s : f32
  }
  %g = memref.alloc() : memref<16x8xf32>
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%acc : memref<16x8xf32>) outs(%g : memref<16x8xf32>) {
  ^bb0(%i: f32, %o: f32):
    %e = math.exp %i : f32
    linalg.yield %e : f32
  }
  %b = memref.alloc() : memref<16x32xf32>
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<16x32xf32>) outs(%b : memref<16x32xf32>) {
  ^bb0(%i: f32, %o: f32):
    %d = arith.mulf %i, %two : f32
    linalg.yield %d : f32
  }
  return %g, %b : memref<16x8xf32>, memref<16x32xf32>
}
