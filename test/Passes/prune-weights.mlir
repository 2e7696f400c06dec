// RUN: tern-opt %s --tern-prune-weights="min-elements=8" --split-input-file | FileCheck %s
// RUN: tern-opt %s --tern-prune-weights="min-elements=8 exclude=keep_me,Conv" --split-input-file | FileCheck %s --check-prefix=EXCLUDE
// RUN: not tern-opt %s --tern-prune-weights="pattern=1:4" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: tern-opt %s --tern-prune-weights="pattern=block ratio=0.5 block-columns=1 min-elements=8" --split-input-file | FileCheck %s --check-prefix=BLOCK
// RUN: not tern-opt %s --tern-prune-weights="pattern=block ratio=1.5" 2>&1 | FileCheck %s --check-prefix=BAD-RATIO

// MatMul's B [k, n] is pruned down each column: in every group of 4 along k
// the 2 largest |w| stay (the first of equal ones); k = 6 ends with a group
// of 2, which stays whole.
// CHECK-LABEL: func.func @matmul
// CHECK: %[[W:.+]] = tern.constant dense<{{\[}}[4.000000e+00, 0.000000e+00], [-5.000000e+00, 0.000000e+00], [0.000000e+00, 2.000000e+00], [0.000000e+00, 2.000000e+00], [1.000000e+00, 7.000000e+00], [1.000000e+00, 8.000000e+00]]>
// CHECK: tern.matmul %arg0, %[[W]]
// Block pruning, blocks of one column here: in each column the 3 rows
// (half of 6) of least magnitude become 0, the later row first on ties.
// BLOCK-LABEL: func.func @matmul
// BLOCK: tern.constant dense<{{\[}}[4.000000e+00, 0.000000e+00], [-5.000000e+00, 0.000000e+00], [1.000000e+00, 2.000000e+00], [0.000000e+00, 0.000000e+00], [0.000000e+00, 7.000000e+00], [0.000000e+00, 8.000000e+00]]>
func.func @matmul(%a: tensor<3x6xf32>) -> tensor<3x2xf32> {
  %w = tern.constant dense<[[4.0, 1.0], [-5.0, 1.0], [1.0, 2.0], [-0.5, 2.0], [1.0, 7.0], [1.0, 8.0]]> : tensor<6x2xf32>
  %y = tern.matmul %a, %w : (tensor<3x6xf32>, tensor<6x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// Gemm with transB: B [n, k] is pruned along each row. A weight that other
// ops also read keeps its dense values there.
// CHECK-LABEL: func.func @gemm_shared
// CHECK-DAG: %[[DENSE:.+]] = tern.constant dense<{{\[}}[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00], [-4.000000e+00, 3.000000e+00, -2.000000e+00, 1.000000e+00]]>
// CHECK-DAG: %[[PRUNED:.+]] = tern.constant dense<{{\[}}[0.000000e+00, 0.000000e+00, 3.000000e+00, 4.000000e+00], [-4.000000e+00, 3.000000e+00, 0.000000e+00, 0.000000e+00]]>
// CHECK: tern.gemm %arg0, %[[PRUNED]]
// CHECK: tern.add %[[DENSE]]
func.func @gemm_shared(%a: tensor<3x4xf32>) -> (tensor<3x2xf32>, tensor<2x4xf32>) {
  %w = tern.constant dense<[[1.0, 2.0, 3.0, 4.0], [-4.0, 3.0, -2.0, 1.0]]> : tensor<2x4xf32>
  %y = tern.gemm %a, %w {trans_b = true} : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  %z = tern.add %w, %w : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y, %z : tensor<3x2xf32>, tensor<2x4xf32>
}

// -----

// Conv filters [f, c, kh, kw]: k = (c, kh, kw) flattened, pruned per filter
// (2:4 only: block pruning leaves convolutions).
// BLOCK-LABEL: func.func @conv
// BLOCK: tern.constant dense<{{\[}}{{\[}}{{\[}}[1.000000e+00, 2.000000e+00], [-3.000000e+00, 5.000000e-01]]
// CHECK-LABEL: func.func @conv
// CHECK: %[[W:.+]] = tern.constant dense<{{\[}}{{\[}}{{\[}}[0.000000e+00, 2.000000e+00], [-3.000000e+00, 0.000000e+00]], {{\[}}[5.000000e+00, 0.000000e+00], [0.000000e+00, 8.000000e+00]]]]>
// CHECK: tern.conv %arg0, %[[W]]
// EXCLUDE-LABEL: func.func @conv
// EXCLUDE: tern.constant dense<{{\[}}{{\[}}{{\[}}[1.000000e+00, 2.000000e+00]
func.func @conv(%x: tensor<1x2x4x4xf32>) -> tensor<1x1x3x3xf32> {
  %w = tern.constant dense<[[[[1.0, 2.0], [-3.0, 0.5]], [[5.0, 0.25], [-1.0, 8.0]]]]> : tensor<1x2x2x2xf32>
  %y = tern.conv %x, %w {kernel_shape = array<i64: 2, 2>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>,
                         dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<1x2x2x2xf32>) -> tensor<1x1x3x3xf32>
  return %y : tensor<1x1x3x3xf32>
}

// -----

// Left dense: a run-time weight, a weight below min-elements, weights
// already 2:4 (no new constant), and an op named in `exclude` (EXCLUDE;
// pruned without it).
// CHECK-LABEL: func.func @not_pruned
// CHECK: %[[SMALL:.+]] = tern.constant dense<{{\[}}[1.000000e+00], [2.000000e+00], [3.000000e+00], [4.000000e+00]]>
// CHECK: %[[SPARSE:.+]] = tern.constant dense<{{\[}}[1.000000e+00, 0.000000e+00], [0.000000e+00, 1.000000e+00], [2.000000e+00, 0.000000e+00], [0.000000e+00, 3.000000e+00]]>
// CHECK: tern.matmul %arg0, %arg1
// CHECK: tern.matmul %arg0, %[[SMALL]]
// CHECK: tern.matmul %arg0, %[[SPARSE]]
// CHECK: %[[NAMED:.+]] = tern.constant dense<{{\[}}[0.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00], [5.000000e+00, 6.000000e+00], [7.000000e+00, 8.000000e+00]]>
// CHECK: tern.matmul %arg0, %[[NAMED]]
// EXCLUDE-LABEL: func.func @not_pruned
// EXCLUDE: %[[W:.+]] = tern.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00], [5.000000e+00, 6.000000e+00], [7.000000e+00, 8.000000e+00]]>
// EXCLUDE: tern.matmul %arg0, %[[W]]
func.func @not_pruned(%a: tensor<3x4xf32>, %b: tensor<4x2xf32>) -> (tensor<3x2xf32>, tensor<3x1xf32>, tensor<3x2xf32>, tensor<3x2xf32>) {
  %small = tern.constant dense<[[1.0], [2.0], [3.0], [4.0]]> : tensor<4x1xf32>
  %sparse = tern.constant dense<[[1.0, 0.0], [0.0, 1.0], [2.0, 0.0], [0.0, 3.0]]> : tensor<4x2xf32>
  %named = tern.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]> : tensor<4x2xf32>
  %y0 = tern.matmul %a, %b : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  %y1 = tern.matmul %a, %small : (tensor<3x4xf32>, tensor<4x1xf32>) -> tensor<3x1xf32>
  %y2 = tern.matmul %a, %sparse : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  %y3 = tern.matmul %a, %named : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32> loc("keep_me")
  return %y0, %y1, %y2, %y3 : tensor<3x2xf32>, tensor<3x1xf32>, tensor<3x2xf32>, tensor<3x2xf32>
}
// BAD: tern-prune-weights: pattern must be 2:4 or block, got '1:4'
// BAD-RATIO: tern-prune-weights: block pruning needs 0 < ratio < 1 and block-columns >= 1
