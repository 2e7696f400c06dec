// RUN: tern-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tern-lower-reductions-to-loops{rows=8 tensor-cores=true}),canonicalize)' | FileCheck %s
// RUN: tern-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tern-lower-reductions-to-loops{rows=8}))' | FileCheck %s --check-prefix=NOTC

// A matmul of f16 operands accumulating in f32 (--precision=fp16): one
// launch of 64x64 tiles (ceil(100/64) x ceil(96/64) blocks of 128 threads).
// A (k innermost) is read 8 elements along k at a time, B (n innermost) 8
// columns at rows k and k+1; both are staged in shared memory as words of
// two k-consecutive elements. The first slice is staged before the loop;
// each iteration loads the next slice, runs 2 x 4 mma.sync m16n8k16 a warp
// for each 16 of the current one, then stores the next between barriers.
// The zero fill is the accumulators' start, and the bias add after the
// matmul runs on each result before the store.
// CHECK-LABEL: func.func @matmul_bias
// CHECK-NOT: linalg.fill
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C128:.*]] = arith.constant 128 : index
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C2]], %{{.*}} = %[[C2]], %{{.*}} = %{{.*}}) threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C128]],
// CHECK-SAME: workgroup(%[[SA:.*]] : memref<64x20xi32, #gpu.address_space<workgroup>>, %[[SB:.*]] : memref<64x20xi32, #gpu.address_space<workgroup>>)
// CHECK-COUNT-2: vector.load %arg0[{{.*}}] {alignment = 16 : i64} : memref<100x40xf16>, vector<8xf16>
// CHECK-COUNT-8: memref.store %{{.*}}, %[[SA]]
// CHECK-COUNT-2: vector.load %arg1[{{.*}}] {alignment = 16 : i64} : memref<40x96xf16>, vector<8xf16>
// CHECK-COUNT-8: memref.store %{{.*}}, %[[SB]]
// CHECK: gpu.barrier
// CHECK: scf.for
// CHECK-COUNT-2: vector.load %arg0
// CHECK-COUNT-2: vector.load %arg1
// CHECK-COUNT-16: nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (vector<2xf16>, vector<2xf16>, f32)
// CHECK: gpu.barrier
// CHECK-COUNT-8: memref.store %{{.*}}, %[[SA]]
// CHECK-COUNT-8: memref.store %{{.*}}, %[[SB]]
// CHECK: gpu.barrier
// CHECK: scf.yield
// CHECK: scf.if
// CHECK: memref.load %{{.*}} : memref<96xf32>
// CHECK: arith.addf
// CHECK: memref.store %{{.*}} : memref<100x96xf32>
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
// CHECK: return
// NOTC-LABEL: func.func @matmul_bias
// NOTC-NOT: gpu.launch
// NOTC-NOT: nvvm.mma.sync
// NOTC: scf.parallel
func.func @matmul_bias(%a: memref<100x40xf16>, %b: memref<40x96xf16>, %bias: memref<96xf32>) -> memref<100x96xf32> {
  %zero = arith.constant 0.0 : f32
  %acc = memref.alloc() : memref<100x96xf32>
  %out = memref.alloc() : memref<100x96xf32>
  linalg.fill ins(%zero : f32) outs(%acc : memref<100x96xf32>)
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<100x40xf16>, memref<40x96xf16>) outs(%acc : memref<100x96xf32>) {
  ^bb0(%x: f16, %y: f16, %o: f32):
    %xf = arith.extf %x : f16 to f32
    %yf = arith.extf %y : f16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(m, n) -> (m, n)>, affine_map<(m, n) -> (n)>, affine_map<(m, n) -> (m, n)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%acc, %bias : memref<100x96xf32>, memref<96xf32>) outs(%out : memref<100x96xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  }
  memref.dealloc %acc : memref<100x96xf32>
  return %out : memref<100x96xf32>
}

// -----

// GPT-2's second MLP matmul at 128 rows: 2 x 12 tiles would leave most of
// the GPU idle through 96 slices of k, so k is split 11 ways (9 slices
// each) along the grid's z; each block adds its partial sums to the output
// atomically, so the fill before and the bias after stay ops of their own.
// CHECK-LABEL: func.func @split_k
// CHECK-DAG: %[[C11:.*]] = arith.constant 11 : index
// CHECK-DAG: %[[C9:.*]] = arith.constant 9 : index
// CHECK: linalg.fill
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %[[C11]])
// CHECK: %[[FIRST:.*]] = arith.muli %{{.*}}, %[[C9]]
// CHECK: scf.for %{{.*}} = %[[FIRST]] to %{{.*}}
// CHECK: nvvm.mma.sync
// CHECK: memref.atomic_rmw addf %{{.*}}, %{{.*}} : (f32, memref<128x768xf32>) -> f32
// CHECK: gpu.terminator
// CHECK: linalg.generic
// CHECK: arith.addf
func.func @split_k(%a: memref<128x3072xf16>, %b: memref<3072x768xf16>, %bias: memref<768xf32>) -> memref<128x768xf32> {
  %zero = arith.constant 0.0 : f32
  %acc = memref.alloc() : memref<128x768xf32>
  %out = memref.alloc() : memref<128x768xf32>
  linalg.fill ins(%zero : f32) outs(%acc : memref<128x768xf32>)
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<128x3072xf16>, memref<3072x768xf16>) outs(%acc : memref<128x768xf32>) {
  ^bb0(%x: f16, %y: f16, %o: f32):
    %xf = arith.extf %x : f16 to f32
    %yf = arith.extf %y : f16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(m, n) -> (m, n)>, affine_map<(m, n) -> (n)>, affine_map<(m, n) -> (m, n)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%acc, %bias : memref<128x768xf32>, memref<768xf32>) outs(%out : memref<128x768xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  }
  memref.dealloc %acc : memref<128x768xf32>
  return %out : memref<128x768xf32>
}

// -----

// Attention's scores in bf16: the batch dims (1 x 4 heads) are the grid's
// z; B's first index is the constant 0 (a broadcast batch); the output's
// start is read from it (no fill before).
// CHECK-LABEL: func.func @batched_bf16
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}}, %{{.*}} = %[[C4]])
// CHECK: arith.remui %{{.*}}, %[[C4]]
// CHECK: memref.load %{{.*}} : memref<1x4x16x16xf32>
// CHECK: vector.load %{{.*}} : memref<1x4x16x64xbf16>, vector<8xbf16>
// CHECK: vector.load %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] {{.*}} : memref<1x4x64x16xbf16>, vector<8xbf16>
// CHECK: nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {{.*}}multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>
func.func @batched_bf16(%a: memref<1x4x16x64xbf16>, %b: memref<1x4x64x16xbf16>, %c: memref<1x4x16x16xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (0, d1, d4, d3)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<1x4x16x64xbf16>, memref<1x4x64x16xbf16>) outs(%c : memref<1x4x16x16xf32>) {
  ^bb0(%x: bf16, %y: bf16, %o: f32):
    %xf = arith.extf %x : bf16 to f32
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Extents not multiples of 8 elements (or strides that leave a row
// unaligned): each word is two scalar loads.
// CHECK-LABEL: func.func @unaligned
// CHECK: gpu.launch
// CHECK-NOT: vector.load
// CHECK: scf.for
// CHECK: memref.load %{{.*}} : memref<30x36xf16>
// CHECK: nvvm.mma.sync
func.func @unaligned(%a: memref<30x36xf16>, %b: memref<36x30xf16, strided<[32, 1]>>, %c: memref<30x30xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<30x36xf16>, memref<36x30xf16, strided<[32, 1]>>) outs(%c : memref<30x30xf32>) {
  ^bb0(%x: f16, %y: f16, %o: f32):
    %xf = arith.extf %x : f16 to f32
    %yf = arith.extf %y : f16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// An empty k (a dynamic extent that is 0 at run time): the first slice is
// staged only when there is one, and the loop runs no slice; the outputs
// keep their start.
// CHECK-LABEL: func.func @dynamic_k
// CHECK: gpu.launch
// CHECK: %[[ANY:.*]] = arith.cmpi ugt, %{{.*}}, %c0 : index
// CHECK: scf.if %[[ANY]] {
// CHECK: memref.load %{{.*}} : memref<64x?xf16>
// CHECK: }
// CHECK: gpu.barrier
// CHECK: scf.for
func.func @dynamic_k(%a: memref<64x?xf16>, %b: memref<?x64xf16>, %c: memref<64x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<64x?xf16>, memref<?x64xf16>) outs(%c : memref<64x64xf32>) {
  ^bb0(%x: f16, %y: f16, %o: f32):
    %xf = arith.extf %x : f16 to f32
    %yf = arith.extf %y : f16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Not for the tensor cores: f32 operands (--precision=fp32), two reduction
// dims (a convolution), a body that is not a plain product sum.
// CHECK-LABEL: func.func @not_matmuls
// CHECK-NOT: gpu.launch
// CHECK-NOT: nvvm.mma.sync
// CHECK: scf.parallel
// CHECK: scf.parallel
// CHECK: scf.parallel
func.func @not_matmuls(%a: memref<16x32xf32>, %b: memref<32x16xf32>, %c: memref<16x16xf32>,
                       %x: memref<1x8x10x10xf16>, %w: memref<4x8x3x3xf16>, %y: memref<1x4x8x8xf32>,
                       %h: memref<16x32xf16>, %g: memref<32x16xf16>) {
  linalg.matmul ins(%a, %b : memref<16x32xf32>, memref<32x16xf32>) outs(%c : memref<16x16xf32>)
  linalg.generic {indexing_maps = [affine_map<(n, f, i, j, c, p, q) -> (n, c, i + p, j + q)>, affine_map<(n, f, i, j, c, p, q) -> (f, c, p, q)>, affine_map<(n, f, i, j, c, p, q) -> (n, f, i, j)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : memref<1x8x10x10xf16>, memref<4x8x3x3xf16>) outs(%y : memref<1x4x8x8xf32>) {
  ^bb0(%u: f16, %v: f16, %o: f32):
    %uf = arith.extf %u : f16 to f32
    %vf = arith.extf %v : f16 to f32
    %p = arith.mulf %uf, %vf : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%h, %g : memref<16x32xf16>, memref<32x16xf16>) outs(%c : memref<16x16xf32>) {
  ^bb0(%u: f16, %v: f16, %o: f32):
    %uf = arith.extf %u : f16 to f32
    %vf = arith.extf %v : f16 to f32
    %p = arith.subf %uf, %vf : f32
    %s = arith.maximumf %o, %p : f32
    linalg.yield %s : f32
  }
  return
}
