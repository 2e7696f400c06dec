// RUN: tern-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tern-lower-reductions-to-loops{rows=8 warp-reductions=true}),canonicalize)' | FileCheck %s
// RUN: tern-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tern-lower-reductions-to-loops{rows=8}))' | FileCheck %s --check-prefix=OFF

// A layer norm's mean: 128 rows of 768, a warp per row (32 blocks of 4
// warps); each lane sums every 32nd element from its lane number, the
// lanes' sums meet by 5 butterfly shuffles, and lane 0 adds the fill's
// constant, runs the division after it and stores.
// CHECK-LABEL: func.func @row_mean
// CHECK-NOT: linalg.fill
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK-DAG: %[[C128:.*]] = arith.constant 128 : index
// CHECK: gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C32]], %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C128]],
// CHECK: %[[LANE:.*]] = arith.remui %[[TX]], %[[C32]]
// CHECK: scf.if
// CHECK: scf.for %{{.*}} = %[[LANE]] to %{{.*}} step %[[C32]] iter_args(%{{.*}} = %{{.*}}) -> (f32)
// CHECK: memref.load %{{.*}} : memref<128x768xf32>
// CHECK: arith.addf
// CHECK: gpu.shuffle  xor %{{.*}}, %{{.*}}, %{{.*}} : f32
// CHECK-COUNT-4: gpu.shuffle  xor
// CHECK: scf.if
// CHECK: arith.addf
// CHECK: arith.divf
// CHECK: memref.store %{{.*}} : memref<128xf32>
// CHECK-NOT: linalg.generic
// OFF-LABEL: func.func @row_mean
// OFF-NOT: gpu.launch
// OFF: scf.parallel
func.func @row_mean(%x: memref<128x768xf32>) -> memref<128xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 768.0 : f32
  %sum = memref.alloc() : memref<128xf32>
  %mean = memref.alloc() : memref<128xf32>
  linalg.fill ins(%zero : f32) outs(%sum : memref<128xf32>)
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<128x768xf32>) outs(%sum : memref<128xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %o, %a : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]}
      ins(%sum : memref<128xf32>) outs(%mean : memref<128xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.divf %a, %n : f32
    linalg.yield %m : f32
  }
  memref.dealloc %sum : memref<128xf32>
  return %mean : memref<128xf32>
}

// -----

// A softmax's maximum over the last of 4 dims, starting from what the
// output holds (no fill before); the identity of maximumf is -inf.
// CHECK-LABEL: func.func @row_max
// CHECK: arith.constant 0xFF800000 : f32
// CHECK: gpu.launch
// CHECK: scf.for
// CHECK: arith.maximumf
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: memref.load %{{.*}} : memref<1x12x128xf32>
// CHECK: arith.maximumf
// CHECK: memref.store %{{.*}} : memref<1x12x128xf32>
func.func @row_max(%x: memref<1x12x128x128xf32>, %m: memref<1x12x128xf32>) {
  linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x : memref<1x12x128x128xf32>) outs(%m : memref<1x12x128xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.maximumf %o, %a : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Not a warp per output: a matmul (each input shared by outputs), fewer
// than 32 elements to reduce, an integer sum, a body using the output
// twice.
// CHECK-LABEL: func.func @not_warp_reductions
// CHECK-NOT: gpu.launch
// CHECK-NOT: gpu.shuffle
func.func @not_warp_reductions(%a: memref<16x64xf32>, %b: memref<64x16xf32>, %c: memref<16x16xf32>,
                               %short: memref<64x16xf32>, %s: memref<64xf32>,
                               %ints: memref<8x64xi64>, %t: memref<8xi64>, %x: memref<8x64xf32>, %y: memref<8xf32>) {
  linalg.matmul ins(%a, %b : memref<16x64xf32>, memref<64x16xf32>) outs(%c : memref<16x16xf32>)
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>], iterator_types = ["parallel", "reduction"]}
      ins(%short : memref<64x16xf32>) outs(%s : memref<64xf32>) {
  ^bb0(%v: f32, %o: f32):
    %r = arith.addf %o, %v : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>], iterator_types = ["parallel", "reduction"]}
      ins(%ints : memref<8x64xi64>) outs(%t : memref<8xi64>) {
  ^bb0(%v: i64, %o: i64):
    %r = arith.addi %o, %v : i64
    linalg.yield %r : i64
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x64xf32>) outs(%y : memref<8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %p = arith.mulf %o, %v : f32
    %r = arith.addf %o, %p : f32
    linalg.yield %r : f32
  }
  return
}
