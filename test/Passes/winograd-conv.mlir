// RUN: tern-opt %s --tern-winograd-conv --split-input-file | FileCheck %s
// RUN: tern-opt %s --tern-winograd-conv=tile=2 --split-input-file | FileCheck %s --check-prefix=TILE2

// 56 x 56 with 64 channels: F(4x4, 3x3), its filters transformed into
// 36 taps x C x F; the bias stays an operand.
// CHECK-LABEL: func.func @large_map
// CHECK: %[[U:.+]] = tern.constant dense_resource<winograd_filters{{.*}}> : tensor<36x64x64xf32>
// CHECK: tern.winograd_conv %arg0, %[[U]], %arg1 {pads = array<i64: 1, 1, 1, 1>, tile = 4 : i64}
// CHECK-SAME: -> tensor<1x64x56x56xf32>
// CHECK-NOT: tern.conv
// TILE2-LABEL: func.func @large_map
// TILE2: tern.winograd_conv {{.*}}tile = 2 : i64{{.*}}(tensor<1x64x56x56xf32>, tensor<16x64x64xf32>, tensor<64xf32>)
func.func @large_map(%x: tensor<1x64x56x56xf32>, %b: tensor<64xf32>) -> tensor<1x64x56x56xf32> {
  %w = tern.constant dense<0.5> : tensor<64x64x3x3xf32>
  %y = tern.conv %x, %w, %b {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x64x56x56xf32>, tensor<64x64x3x3xf32>, tensor<64xf32>) -> tensor<1x64x56x56xf32>
  return %y : tensor<1x64x56x56xf32>
}

// -----

// 14 x 14 with 256 channels: F(2x2, 3x3), whose transformed filters are
// 16 / 36 the size (the filters' bytes weigh with few tiles). Asymmetric
// pads carry over.
// CHECK-LABEL: func.func @small_map
// CHECK: tern.winograd_conv %arg0, %{{.+}} {pads = array<i64: 0, 1, 2, 1>, tile = 2 : i64} : (tensor<1x256x14x14xf32>, tensor<16x256x256xf32>) -> tensor<1x256x14x14xf32>
func.func @small_map(%x: tensor<1x256x14x14xf32>) -> tensor<1x256x14x14xf32> {
  %w = tern.constant dense<0.5> : tensor<256x256x3x3xf32>
  %y = tern.conv %x, %w {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 0, 1, 2, 1>, strides = array<i64: 1, 1>} : (tensor<1x256x14x14xf32>, tensor<256x256x3x3xf32>) -> tensor<1x256x14x14xf32>
  return %y : tensor<1x256x14x14xf32>
}

// -----

// auto_pad SAME_UPPER: one pad on every side.
// CHECK-LABEL: func.func @same_upper
// CHECK: tern.winograd_conv {{.*}}pads = array<i64: 1, 1, 1, 1>
func.func @same_upper(%x: tensor<1x64x56x56xf32>) -> tensor<1x64x56x56xf32> {
  %w = tern.constant dense<0.5> : tensor<64x64x3x3xf32>
  %y = tern.conv %x, %w {auto_pad = "SAME_UPPER", dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x64x56x56xf32>, tensor<64x64x3x3xf32>) -> tensor<1x64x56x56xf32>
  return %y : tensor<1x64x56x56xf32>
}

// -----

// Must not fire: 7 x 7 with 512 channels (4 or 16 tiles: the transformed
// filters' bytes outweigh the saved multiplies), stride 2, dilation 2,
// groups, a 1x1 kernel, 3 input channels (not a multiple of 8), run-time
// filters, a dynamic map size (a dynamic batch does fire: @dynamic_batch).
// CHECK-LABEL: func.func @stays_direct
// CHECK-NOT: tern.winograd_conv
// CHECK-COUNT-8: tern.conv
// CHECK-NOT: tern.winograd_conv
func.func @stays_direct(%x7: tensor<1x512x7x7xf32>, %x: tensor<1x64x56x56xf32>, %x3: tensor<1x3x56x56xf32>,
                        %wr: tensor<64x64x3x3xf32>, %xd: tensor<1x64x?x56xf32>)
    -> (tensor<1x512x7x7xf32>, tensor<1x64x28x28xf32>, tensor<1x64x54x54xf32>, tensor<1x64x56x56xf32>,
        tensor<1x64x56x56xf32>, tensor<1x64x56x56xf32>, tensor<1x64x56x56xf32>, tensor<1x64x?x56xf32>) {
  %w512 = tern.constant dense<0.5> : tensor<512x512x3x3xf32>
  %w = tern.constant dense<0.5> : tensor<64x64x3x3xf32>
  %wg = tern.constant dense<0.5> : tensor<64x32x3x3xf32>
  %w1 = tern.constant dense<0.5> : tensor<64x64x1x1xf32>
  %w3 = tern.constant dense<0.5> : tensor<64x3x3x3xf32>
  %0 = tern.conv %x7, %w512 {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x512x7x7xf32>, tensor<512x512x3x3xf32>) -> tensor<1x512x7x7xf32>
  %1 = tern.conv %x, %w {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x64x56x56xf32>, tensor<64x64x3x3xf32>) -> tensor<1x64x28x28xf32>
  %2 = tern.conv %x, %w {dilations = array<i64: 2, 2>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x64x56x56xf32>, tensor<64x64x3x3xf32>) -> tensor<1x64x54x54xf32>
  %3 = tern.conv %x, %wg {dilations = array<i64: 1, 1>, group = 2 : i64, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x64x56x56xf32>, tensor<64x32x3x3xf32>) -> tensor<1x64x56x56xf32>
  %4 = tern.conv %x, %w1 {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x64x56x56xf32>, tensor<64x64x1x1xf32>) -> tensor<1x64x56x56xf32>
  %5 = tern.conv %x3, %w3 {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x3x56x56xf32>, tensor<64x3x3x3xf32>) -> tensor<1x64x56x56xf32>
  %6 = tern.conv %x, %wr {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x64x56x56xf32>, tensor<64x64x3x3xf32>) -> tensor<1x64x56x56xf32>
  %7 = tern.conv %xd, %w {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x64x?x56xf32>, tensor<64x64x3x3xf32>) -> tensor<1x64x?x56xf32>
  return %0, %1, %2, %3, %4, %5, %6, %7 : tensor<1x512x7x7xf32>, tensor<1x64x28x28xf32>, tensor<1x64x54x54xf32>, tensor<1x64x56x56xf32>, tensor<1x64x56x56xf32>, tensor<1x64x56x56xf32>, tensor<1x64x56x56xf32>, tensor<1x64x?x56xf32>
}

// -----

// Images counted at run time: chosen per image, as for one.
// CHECK-LABEL: func.func @dynamic_batch
// CHECK: tern.winograd_conv %arg0, %{{.+}} {pads = array<i64: 1, 1, 1, 1>, tile = 4 : i64} : (tensor<?x64x56x56xf32>, tensor<36x64x64xf32>) -> tensor<?x64x56x56xf32>
func.func @dynamic_batch(%x: tensor<?x64x56x56xf32>) -> tensor<?x64x56x56xf32> {
  %w = tern.constant dense<0.5> : tensor<64x64x3x3xf32>
  %y = tern.conv %x, %w {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<?x64x56x56xf32>, tensor<64x64x3x3xf32>) -> tensor<?x64x56x56xf32>
  return %y : tensor<?x64x56x56xf32>
}
