// RUN: tern-opt %s --tern-int16-activations --split-input-file | FileCheck %s

// An LM head on uint8 weights (per tensor, zero point 128): rows of a
// quantized to int16 (max|a| per row over k, block-wise along k), the
// integer product against the weights and their zero point, scaled back by
// the row's d and the weights' s. With k 64 and max|q - z| 72 the sums
// allow every 16-bit level: d = max / 32767.
// CHECK-LABEL: func.func @lm_head
// CHECK-DAG: %[[S:.+]] = tern.constant dense<5.000000e-01> : tensor<32xf32>
// CHECK-DAG: %[[INV:.+]] = tern.constant dense<3.05185094E-5> : tensor<f32>
// CHECK-DAG: %[[TINY:.+]] = tern.constant dense<1.000000e-30> : tensor<f32>
// CHECK-DAG: %[[Q:.+]] = tern.constant dense<200> : tensor<64x32xui8>
// CHECK-DAG: %[[Z:.+]] = tern.constant dense<128> : tensor<ui8>
// CHECK: %[[ABS:.+]] = tern.abs %arg0
// CHECK: %[[MAX:.+]] = tern.reduce_max %[[ABS]] {axes = array<i64: 2>} : (tensor<1x4x64xf32>) -> tensor<1x4x1xf32>
// CHECK: %[[POS:.+]] = tern.max %[[MAX]], %[[TINY]]
// CHECK: %[[D:.+]] = tern.mul %[[POS]], %[[INV]]
// CHECK: %[[QA:.+]] = tern.quantize_linear %arg0, %[[D]] {axis = 2 : i64, block_size = 64 : i64, output_type = i16} : (tensor<1x4x64xf32>, tensor<1x4x1xf32>) -> tensor<1x4x64xi16>
// CHECK: %[[ACC:.+]] = tern.matmul_integer %[[QA]], %[[Q]] b_zero_point %[[Z]] : (tensor<1x4x64xi16>, tensor<64x32xui8>, tensor<ui8>) -> tensor<1x4x32xi32>
// CHECK: %[[F:.+]] = tern.cast %[[ACC]] {to = f32}
// CHECK: %[[Y:.+]] = tern.mul %[[F]], %[[D]]
// CHECK: %[[R:.+]] = tern.mul %[[Y]], %[[S]]
// CHECK: return %[[R]]
// CHECK-NOT: tern.dequantize_linear
func.func @lm_head(%a: tensor<1x4x64xf32>) -> tensor<1x4x32xf32> {
  %q = tern.constant dense<200> : tensor<64x32xui8>
  %s = tern.constant dense<0.5> : tensor<f32>
  %z = tern.constant dense<128> : tensor<ui8>
  %w = tern.dequantize_linear %q, %s, %z {axis = 1 : i64} : (tensor<64x32xui8>, tensor<f32>, tensor<ui8>) -> tensor<64x32xf32>
  %y = tern.matmul %a, %w : (tensor<1x4x64xf32>, tensor<64x32xf32>) -> tensor<1x4x32xf32>
  return %y : tensor<1x4x32xf32>
}

// -----

// int8 weights with a scale and zero point per column (axis 1); k 1024 and
// max|q - z| 255 leave floor((2^31 - 1) / (255 * 1024)) - 1 = 8223 levels per row.
// CHECK-LABEL: func.func @per_column
// CHECK-DAG: tern.constant dense<[2.500000e-01, 1.250000e-01]> : tensor<2xf32>
// CHECK-DAG: tern.constant dense<1.21610115E-4> : tensor<f32>
// CHECK: tern.quantize_linear %arg0, %{{.+}} {axis = 1 : i64, block_size = 1024 : i64, output_type = i16}
// CHECK: tern.matmul_integer %{{.+}}, %{{.+}} b_zero_point %{{.+}} : (tensor<3x1024xi16>, tensor<1024x2xi8>, tensor<2xi8>) -> tensor<3x2xi32>
func.func @per_column(%a: tensor<3x1024xf32>) -> tensor<3x2xf32> {
  %q = tern.constant dense<127> : tensor<1024x2xi8>
  %s = tern.constant dense<[0.25, 0.125]> : tensor<2xf32>
  %z = tern.constant dense<[-128, 0]> : tensor<2xi8>
  %w = tern.dequantize_linear %q, %s, %z {axis = 1 : i64} : (tensor<1024x2xi8>, tensor<2xf32>, tensor<2xi8>) -> tensor<1024x2xf32>
  %y = tern.matmul %a, %w : (tensor<3x1024xf32>, tensor<1024x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// Must not fire: k 8192 at max|q - z| 255 leaves 1027 levels (below 4095);
// a scale per row of the weights (axis 0: along k, it does not factor out
// of the sum); block-wise scales; weights computed at run time; float
// weights; f16 activations.
// CHECK-LABEL: func.func @left
// CHECK-NOT: tern.matmul_integer
// CHECK-NOT: tern.quantize_linear
// CHECK-COUNT-6: tern.matmul %
func.func @left(%a: tensor<2x8192xf32>, %b: tensor<2x16xf32>, %qr: tensor<16x4xi8>, %wf: tensor<16x4xf32>,
                %h: tensor<2x16xf16>) -> (tensor<2x1xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf16>) {
  %q0 = tern.constant dense<255> : tensor<8192x1xui8>
  %s0 = tern.constant dense<0.5> : tensor<f32>
  %z0 = tern.constant dense<0> : tensor<ui8>
  %w0 = tern.dequantize_linear %q0, %s0, %z0 {axis = 1 : i64} : (tensor<8192x1xui8>, tensor<f32>, tensor<ui8>) -> tensor<8192x1xf32>
  %y0 = tern.matmul %a, %w0 : (tensor<2x8192xf32>, tensor<8192x1xf32>) -> tensor<2x1xf32>
  %q = tern.constant dense<3> : tensor<16x4xi8>
  %srow = tern.constant dense<0.5> : tensor<16xf32>
  %w1 = tern.dequantize_linear %q, %srow {axis = 0 : i64} : (tensor<16x4xi8>, tensor<16xf32>) -> tensor<16x4xf32>
  %y1 = tern.matmul %b, %w1 : (tensor<2x16xf32>, tensor<16x4xf32>) -> tensor<2x4xf32>
  %sblk = tern.constant dense<0.5> : tensor<2x4xf32>
  %w2 = tern.dequantize_linear %q, %sblk {axis = 0 : i64, block_size = 8 : i64} : (tensor<16x4xi8>, tensor<2x4xf32>) -> tensor<16x4xf32>
  %y2 = tern.matmul %b, %w2 : (tensor<2x16xf32>, tensor<16x4xf32>) -> tensor<2x4xf32>
  %w3 = tern.dequantize_linear %qr, %s0 {axis = 1 : i64} : (tensor<16x4xi8>, tensor<f32>) -> tensor<16x4xf32>
  %y3 = tern.matmul %b, %w3 : (tensor<2x16xf32>, tensor<16x4xf32>) -> tensor<2x4xf32>
  %y4 = tern.matmul %b, %wf : (tensor<2x16xf32>, tensor<16x4xf32>) -> tensor<2x4xf32>
  %sh = tern.constant dense<0.5> : tensor<f16>
  %w5 = tern.dequantize_linear %q, %sh {axis = 1 : i64} : (tensor<16x4xi8>, tensor<f16>) -> tensor<16x4xf16>
  %y5 = tern.matmul %h, %w5 : (tensor<2x16xf16>, tensor<16x4xf16>) -> tensor<2x4xf16>
  return %y0, %y1, %y2, %y3, %y4, %y5 : tensor<2x1xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf16>
}
