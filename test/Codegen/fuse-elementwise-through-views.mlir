// RUN: tern-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tern-fuse-elementwise{through-views=true}))' | FileCheck %s
// RUN: tern-opt %s --split-input-file --tern-fuse-elementwise | FileCheck %s --check-prefix=OFF

// The GPU pipeline's attention operand: a transpose, then the f32-to-f16
// conversion of --precision=fp16: one generic writing f16 through the
// transposed map (two kernels before).
// CHECK-LABEL: func.func @transpose_then_truncate
// CHECK-NOT: linalg.transpose
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<16x4x64xf32>) outs(%{{.*}} : tensor<4x16x64xf16>)
// CHECK: arith.truncf
// CHECK-NOT: linalg.generic
// OFF-LABEL: func.func @transpose_then_truncate
// OFF: linalg.transpose
// OFF: linalg.generic
func.func @transpose_then_truncate(%x: tensor<16x4x64xf32>) -> tensor<4x16x64xf16> {
  %e = tensor.empty() : tensor<4x16x64xf32>
  %t = linalg.transpose ins(%x : tensor<16x4x64xf32>) outs(%e : tensor<4x16x64xf32>) permutation = [1, 0, 2]
  %h = tensor.empty() : tensor<4x16x64xf16>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%t : tensor<4x16x64xf32>) outs(%h : tensor<4x16x64xf16>) {
  ^bb0(%in: f32, %out: f16):
    %c = arith.truncf %in : f32 to f16
    linalg.yield %c : f16
  } -> tensor<4x16x64xf16>
  return %r : tensor<4x16x64xf16>
}

// -----

// A layer norm's last step, a reshape, the conversion: the conversion runs
// on the unreshaped shape and fuses into the normalization; the reshape
// comes after, on the f16 result.
// CHECK-LABEL: func.func @normalize_reshape_truncate
// CHECK: linalg.generic
// CHECK: arith.mulf
// CHECK: arith.truncf
// CHECK-NOT: linalg.generic
// CHECK: tensor.collapse_shape %{{.*}} : tensor<1x16x256xf16> into tensor<16x256xf16>
// OFF-LABEL: func.func @normalize_reshape_truncate
// OFF: tensor.collapse_shape %{{.*}} : tensor<1x16x256xf32>
// OFF: linalg.generic
func.func @normalize_reshape_truncate(%x: tensor<1x16x256xf32>, %s: tensor<1x16x1xf32>) -> tensor<16x256xf16> {
  %e = tensor.empty() : tensor<1x16x256xf32>
  %n = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, 0)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %s : tensor<1x16x256xf32>, tensor<1x16x1xf32>) outs(%e : tensor<1x16x256xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<1x16x256xf32>
  %c = tensor.collapse_shape %n [[0, 1], [2]] : tensor<1x16x256xf32> into tensor<16x256xf32>
  %h = tensor.empty() : tensor<16x256xf16>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%c : tensor<16x256xf32>) outs(%h : tensor<16x256xf16>) {
  ^bb0(%in: f32, %out: f16):
    %t = arith.truncf %in : f32 to f16
    linalg.yield %t : f16
  } -> tensor<16x256xf16>
  return %r : tensor<16x256xf16>
}

// -----

// Must not fire: a reshape into a contraction stays (the matmul keeps its
// two-dimensional form, which the tensor-core kernel tiles).
// CHECK-LABEL: func.func @reshape_into_matmul
// CHECK: tensor.collapse_shape
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
func.func @reshape_into_matmul(%x: tensor<1x16x256xf16>, %w: tensor<256x64xf16>) -> tensor<16x64xf32> {
  %c = tensor.collapse_shape %x [[0, 1], [2]] : tensor<1x16x256xf16> into tensor<16x256xf16>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16x64xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<16x64xf32>) -> tensor<16x64xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%c, %w : tensor<16x256xf16>, tensor<256x64xf16>) outs(%f : tensor<16x64xf32>) {
  ^bb0(%a: f16, %b: f16, %o: f32):
    %af = arith.extf %a : f16 to f32
    %bf = arith.extf %b : f16 to f32
    %p = arith.mulf %af, %bf : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<16x64xf32>
  return %r : tensor<16x64xf32>
}

// -----

// BERT after a post-LN layer norm: its f32 output feeds the residual and,
// reshaped, three f16 conversions (query, key, value). The shared reshape
// moves past each conversion, which then runs over the norm's own shape
// [1, 16, 256] (one row op more of the norm's row kernel on the GPU); the
// norm itself keeps its f32 result for the residual.
// CHECK-LABEL: func.func @shared_reshape
// CHECK-COUNT-3: linalg.generic {{.*}} ins(%{{.*}} : tensor<1x16x256xf32>) outs(%{{.*}} : tensor<1x16x256xf16>)
// OFF-LABEL: func.func @shared_reshape
// OFF-COUNT-3: linalg.generic {{.*}} ins(%{{.*}} : tensor<16x256xf32>) outs(%{{.*}} : tensor<16x256xf16>)
func.func @shared_reshape(%n: tensor<1x16x256xf32>) -> (tensor<16x256xf16>, tensor<16x256xf16>, tensor<16x256xf16>) {
  %c = tensor.collapse_shape %n [[0, 1], [2]] : tensor<1x16x256xf32> into tensor<16x256xf32>
  %e1 = tensor.empty() : tensor<16x256xf16>
  %q = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%c : tensor<16x256xf32>) outs(%e1 : tensor<16x256xf16>) {
  ^bb0(%a: f32, %out: f16):
    %t = arith.truncf %a : f32 to f16
    linalg.yield %t : f16
  } -> tensor<16x256xf16>
  %e2 = tensor.empty() : tensor<16x256xf16>
  %k = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%c : tensor<16x256xf32>) outs(%e2 : tensor<16x256xf16>) {
  ^bb0(%a: f32, %out: f16):
    %t = arith.truncf %a : f32 to f16
    linalg.yield %t : f16
  } -> tensor<16x256xf16>
  %e3 = tensor.empty() : tensor<16x256xf16>
  %v = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%c : tensor<16x256xf32>) outs(%e3 : tensor<16x256xf16>) {
  ^bb0(%a: f32, %out: f16):
    %t = arith.truncf %a : f32 to f16
    linalg.yield %t : f16
  } -> tensor<16x256xf16>
  return %q, %k, %v : tensor<16x256xf16>, tensor<16x256xf16>, tensor<16x256xf16>
}
