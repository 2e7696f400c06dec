// RUN: tern-opt %s --tern-quantize-weights="group-size=16 min-elements=32" --split-input-file | FileCheck %s
// RUN: tern-opt %s --tern-quantize-weights="group-size=16 min-elements=32 exclude=Gemm,keep" --split-input-file | FileCheck %s --check-prefix=EXCLUDE
// RUN: tern-opt %s --tern-quantize-weights="bits=8 min-elements=32" --split-input-file | FileCheck %s --check-prefix=INT8
// RUN: tern-opt %s --tern-quantize-weights="group-size=16 min-elements=32 accuracy-level=0" --split-input-file | FileCheck %s --check-prefix=F32

// A MatMul with constant weights [16, 2]: column 0 is 0..15 (max 15: scale
// 15/7 or a clipped one), column 1 all zero (scale 1, q = 8). One group of
// 16 along k; two 4-bit values per byte: [n, blocks, 8] bytes.
// accuracy_level 4 lets the kernel quantize the activations to int8; with
// accuracy-level=0 they stay f32 (the attribute's default, not printed).
// CHECK-LABEL: func.func @matmul
// CHECK: %[[W:.+]] = tern.constant dense_resource<int4_weights> : tensor<2x1x8xui8>
// CHECK: %[[S:.+]] = tern.constant dense_resource<int4_scales> : tensor<2xf32>
// CHECK: tern.matmul_nbits %arg0, %[[W]], %[[S]] {accuracy_level = 4 : i64, block_size = 16 : i64, k = 16 : i64, n = 2 : i64}
// F32-LABEL: func.func @matmul
// F32: tern.matmul_nbits %arg0, %{{.+}}, %{{.+}} {block_size = 16 : i64, k = 16 : i64, n = 2 : i64}
// CHECK-NOT: tern.matmul %
// EXCLUDE-LABEL: func.func @matmul
// EXCLUDE: tern.matmul_nbits
//
// bits=8: int8 weights per column (column 0 scale 15/127, column 1 all 0:
// scale 1), the activations quantized at run time, an 8-bit integer matmul,
// its result scaled by the activations' scale times the weights'.
// INT8-LABEL: func.func @matmul
// INT8-DAG: %[[W:.+]] = tern.constant dense_resource<int8_weights> : tensor<16x2xi8>
// INT8-DAG: %[[SW:.+]] = tern.constant dense<[0.11811024, 1.000000e+00]> : tensor<2xf32>
// INT8: %[[Q:.+]], %[[SA:.+]], %[[ZA:.+]] = tern.dynamic_quantize_linear %arg0
// INT8: %[[ACC:.+]] = tern.matmul_integer %[[Q]], %[[W]] a_zero_point %[[ZA]]
// INT8: %[[F:.+]] = tern.cast %[[ACC]] {to = f32}
// INT8: %[[S:.+]] = tern.mul %[[SA]], %[[SW]]
// INT8: tern.mul %[[F]], %[[S]]
func.func @matmul(%a: tensor<3x16xf32>) -> tensor<3x2xf32> {
  %w = tern.constant dense<[[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [4.0, 0.0], [5.0, 0.0], [6.0, 0.0], [7.0, 0.0],
                            [8.0, 0.0], [9.0, 0.0], [10.0, 0.0], [11.0, 0.0], [12.0, 0.0], [13.0, 0.0], [14.0, 0.0], [15.0, 0.0]]> : tensor<16x2xf32>
  %y = tern.matmul %a, %w : (tensor<3x16xf32>, tensor<16x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// Gemm with transposed weights [n, k] and a bias of [n]: the bias goes into
// MatMulNBits.
// CHECK-LABEL: func.func @gemm
// CHECK: tern.matmul_nbits %arg0, %{{.+}}, %{{.+}} bias %arg1 {accuracy_level = 4 : i64, block_size = 16 : i64, k = 32 : i64, n = 2 : i64}
// EXCLUDE-LABEL: func.func @gemm
// EXCLUDE-NOT: tern.matmul_nbits
// EXCLUDE: tern.gemm
// INT8-LABEL: func.func @gemm
// INT8: tern.matmul_integer {{.+}} -> tensor<3x2xi32>
// INT8: tern.add %{{.+}}, %arg1
func.func @gemm(%a: tensor<3x32xf32>, %bias: tensor<2xf32>) -> tensor<3x2xf32> {
  %w = tern.constant dense<0.5> : tensor<2x32xf32>
  %y = tern.gemm %a, %w, %bias {trans_b = true} : (tensor<3x32xf32>, tensor<2x32xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// Weights the model dequantizes itself from constant 8-bit bytes (a QDQ
// model's LM head): bits=8 runs the matmul on those bytes, their zero point
// as B's and their scale per column, not requantized; 4 bits leaves it.
// CHECK-LABEL: func.func @dequantized_weights
// CHECK-NOT: tern.matmul_nbits
// INT8-LABEL: func.func @dequantized_weights
// INT8-DAG: %[[Q:.+]] = tern.constant dense<3> : tensor<32x2xui8>
// INT8-DAG: %[[Z:.+]] = tern.constant dense<128> : tensor<ui8>
// INT8-DAG: %[[S:.+]] = tern.constant dense<2.500000e-01> : tensor<2xf32>
// INT8: %[[A:.+]], %[[SA:.+]], %[[ZA:.+]] = tern.dynamic_quantize_linear %arg0
// INT8: tern.matmul_integer %[[A]], %[[Q]] a_zero_point %[[ZA]] b_zero_point %[[Z]]
// INT8: tern.mul %[[SA]], %[[S]]
// INT8-NOT: tern.dequantize_linear
func.func @dequantized_weights(%a: tensor<3x32xf32>) -> tensor<3x2xf32> {
  %q = tern.constant dense<3> : tensor<32x2xui8>
  %s = tern.constant dense<0.25> : tensor<f32>
  %z = tern.constant dense<128> : tensor<ui8>
  %w = tern.dequantize_linear %q, %s, %z {axis = 1 : i64} : (tensor<32x2xui8>, tensor<f32>, tensor<ui8>) -> tensor<32x2xf32>
  %y = tern.matmul %a, %w : (tensor<3x32xf32>, tensor<32x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// Must not fire: run-time weights, alpha != 1, a weight matrix below
// min-elements, and integer weights.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: tern.matmul_nbits
// INT8-LABEL: func.func @left_alone
// INT8-NOT: tern.matmul_integer
func.func @left_alone(%a: tensor<3x16xf32>, %b: tensor<16x2xf32>, %ai: tensor<3x16xi32>)
    -> (tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x1xf32>, tensor<3x2xi32>) {
  %x = tern.matmul %a, %b : (tensor<3x16xf32>, tensor<16x2xf32>) -> tensor<3x2xf32>
  %w = tern.constant dense<0.5> : tensor<16x2xf32>
  %y = tern.gemm %a, %w {alpha = 2.0 : f32} : (tensor<3x16xf32>, tensor<16x2xf32>) -> tensor<3x2xf32>
  %small = tern.constant dense<0.5> : tensor<16x1xf32>
  %z = tern.matmul %a, %small : (tensor<3x16xf32>, tensor<16x1xf32>) -> tensor<3x1xf32>
  %wi = tern.constant dense<1> : tensor<16x2xi32>
  %i = tern.matmul %ai, %wi : (tensor<3x16xi32>, tensor<16x2xi32>) -> tensor<3x2xi32>
  return %x, %y, %z, %i : tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x1xf32>, tensor<3x2xi32>
}
