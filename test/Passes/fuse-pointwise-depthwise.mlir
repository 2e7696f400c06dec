// RUN: tern-opt %s --tern-fuse-pointwise-depthwise --split-input-file | FileCheck %s
// RUN: tern-opt %s --tern-fuse-pointwise-depthwise=min-expanded-bytes=4194304 --split-input-file | FileCheck %s --check-prefix=BIG

// MobileNetV2's expansion: a 1x1 conv to 96 channels over 112x112 (4.8 MB
// expanded), Clip(0, 6), a 3x3 stride-2 depthwise conv and its Clip(0, 6):
// one op, both clips folded in (bounds 0 and 6, the defaults, not
// printed). Below a 4 MiB threshold (BIG) too.
// CHECK-LABEL: func.func @mobilenet_expansion
// CHECK: %[[Y:.+]] = tern.pointwise_depthwise_conv %arg0, %arg1 expand_bias %arg2, %arg3 bias %arg4
// CHECK-SAME: {activation = "clip", dilations = array<i64: 1, 1>, expand_activation = "clip", kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>}
// CHECK-SAME: -> tensor<1x96x56x56xf32>
// CHECK-NOT: tern.conv
// CHECK-NOT: tern.clip
// CHECK: return %[[Y]]
// BIG-LABEL: func.func @mobilenet_expansion
// BIG: tern.pointwise_depthwise_conv
func.func @mobilenet_expansion(%x: tensor<1x16x112x112xf32>, %we: tensor<96x16x1x1xf32>, %be: tensor<96xf32>,
                               %w: tensor<96x1x3x3xf32>, %b: tensor<96xf32>) -> tensor<1x96x56x56xf32> {
  %lo = tern.constant dense<0.0> : tensor<f32>
  %hi = tern.constant dense<6.0> : tensor<f32>
  %e = tern.conv %x, %we, %be {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x16x112x112xf32>, tensor<96x16x1x1xf32>, tensor<96xf32>) -> tensor<1x96x112x112xf32>
  %e6 = tern.clip %e min %lo max %hi : (tensor<1x96x112x112xf32>, tensor<f32>, tensor<f32>) -> tensor<1x96x112x112xf32>
  %d = tern.conv %e6, %w, %b {dilations = array<i64: 1, 1>, group = 96 : i64, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x96x112x112xf32>, tensor<96x1x3x3xf32>, tensor<96xf32>) -> tensor<1x96x56x56xf32>
  %y = tern.clip %d min %lo max %hi : (tensor<1x96x56x56xf32>, tensor<f32>, tensor<f32>) -> tensor<1x96x56x56xf32>
  return %y : tensor<1x96x56x56xf32>
}

// -----

// Relu after the expansion, no bias anywhere, a 5x5 window, no activation
// (printed as none: the default) after the depthwise conv (whose result is read twice: that is fine), a
// batch known at run time. 0.58 MB expanded: fused, but not above 4 MiB.
// CHECK-LABEL: func.func @relu_no_bias
// CHECK: %[[Y:.+]] = tern.pointwise_depthwise_conv %arg0, %arg1, %arg2
// CHECK-SAME: {dilations = array<i64: 1, 1>, expand_activation = "relu", kernel_shape = array<i64: 5, 5>
// CHECK-SAME: -> tensor<?x72x45x45xf32>
// CHECK: tern.add %[[Y]], %[[Y]]
// BIG-LABEL: func.func @relu_no_bias
// BIG-NOT: tern.pointwise_depthwise_conv
func.func @relu_no_bias(%x: tensor<?x8x45x45xf32>, %we: tensor<72x8x1x1xf32>, %w: tensor<72x1x5x5xf32>) -> tensor<?x72x45x45xf32> {
  %e = tern.conv %x, %we {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<?x8x45x45xf32>, tensor<72x8x1x1xf32>) -> tensor<?x72x45x45xf32>
  %r = tern.relu %e : (tensor<?x72x45x45xf32>) -> tensor<?x72x45x45xf32>
  %d = tern.conv %r, %w {dilations = array<i64: 1, 1>, group = 72 : i64, kernel_shape = array<i64: 5, 5>, pads = array<i64: 2, 2, 2, 2>, strides = array<i64: 1, 1>} : (tensor<?x72x45x45xf32>, tensor<72x1x5x5xf32>) -> tensor<?x72x45x45xf32>
  %y = tern.add %d, %d : (tensor<?x72x45x45xf32>, tensor<?x72x45x45xf32>) -> tensor<?x72x45x45xf32>
  return %y : tensor<?x72x45x45xf32>
}

// -----

// Clip bounds other than ReLU6's; a missing one is infinite.
// CHECK-LABEL: func.func @clip_bounds
// BIG-LABEL: func.func @clip_bounds
// CHECK: tern.pointwise_depthwise_conv
// CHECK-SAME: activation = "clip", clip_max = 4.000000e+00 : f32
// CHECK-SAME: expand_activation = "clip", expand_clip_max = 0x7F800000 : f32, expand_clip_min = -1.000000e+00 : f32
func.func @clip_bounds(%x: tensor<1x16x112x112xf32>, %we: tensor<96x16x1x1xf32>, %w: tensor<96x1x3x3xf32>) -> tensor<1x96x112x112xf32> {
  %m1 = tern.constant dense<-1.0> : tensor<f32>
  %lo = tern.constant dense<0.0> : tensor<f32>
  %hi = tern.constant dense<4.0> : tensor<f32>
  %e = tern.conv %x, %we {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x16x112x112xf32>, tensor<96x16x1x1xf32>) -> tensor<1x96x112x112xf32>
  %ec = tern.clip %e min %m1 : (tensor<1x96x112x112xf32>, tensor<f32>) -> tensor<1x96x112x112xf32>
  %d = tern.conv %ec, %w {dilations = array<i64: 1, 1>, group = 96 : i64, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x96x112x112xf32>, tensor<96x1x3x3xf32>) -> tensor<1x96x112x112xf32>
  %y = tern.clip %d min %lo max %hi : (tensor<1x96x112x112xf32>, tensor<f32>, tensor<f32>) -> tensor<1x96x112x112xf32>
  return %y : tensor<1x96x112x112xf32>
}

// -----

// Must not fire: the expansion's activation is read elsewhere too.
// CHECK-LABEL: func.func @expanded_read_twice
// CHECK-NOT: tern.pointwise_depthwise_conv
// CHECK: tern.conv
// CHECK: tern.relu
// CHECK: tern.conv
func.func @expanded_read_twice(%x: tensor<1x16x112x112xf32>, %we: tensor<96x16x1x1xf32>, %w: tensor<96x1x3x3xf32>) -> (tensor<1x96x112x112xf32>, tensor<1x96x112x112xf32>) {
  %e = tern.conv %x, %we {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x16x112x112xf32>, tensor<96x16x1x1xf32>) -> tensor<1x96x112x112xf32>
  %r = tern.relu %e : (tensor<1x96x112x112xf32>) -> tensor<1x96x112x112xf32>
  %d = tern.conv %r, %w {dilations = array<i64: 1, 1>, group = 96 : i64, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x96x112x112xf32>, tensor<96x1x3x3xf32>) -> tensor<1x96x112x112xf32>
  return %d, %r : tensor<1x96x112x112xf32>, tensor<1x96x112x112xf32>
}

// -----

// Must not fire: a small expanded map (16 x 28 x 28 floats, 50 KB) stays
// in cache between the two convolutions anyway.
// CHECK-LABEL: func.func @small_map
// CHECK-NOT: tern.pointwise_depthwise_conv
func.func @small_map(%x: tensor<1x8x28x28xf32>, %we: tensor<16x8x1x1xf32>, %w: tensor<16x1x3x3xf32>) -> tensor<1x16x28x28xf32> {
  %e = tern.conv %x, %we {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x8x28x28xf32>, tensor<16x8x1x1xf32>) -> tensor<1x16x28x28xf32>
  %d = tern.conv %e, %w {dilations = array<i64: 1, 1>, group = 16 : i64, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x16x28x28xf32>, tensor<16x1x3x3xf32>) -> tensor<1x16x28x28xf32>
  return %d : tensor<1x16x28x28xf32>
}

// -----

// Must not fire: the first convolution has a window (3x3), or a stride;
// the second one is grouped but not depthwise (2 input channels a group);
// the spatial dims are dynamic; a clip bound is not a constant.
// CHECK-LABEL: func.func @not_the_pattern
// CHECK-NOT: tern.pointwise_depthwise_conv
func.func @not_the_pattern(%x: tensor<1x16x112x112xf32>, %w3: tensor<96x16x3x3xf32>, %we: tensor<96x16x1x1xf32>,
                           %w: tensor<96x1x3x3xf32>, %wg: tensor<96x2x3x3xf32>, %xd: tensor<1x16x?x?xf32>,
                           %x2: tensor<1x16x224x224xf32>, %lo: tensor<f32>)
    -> (tensor<1x96x112x112xf32>, tensor<1x96x112x112xf32>, tensor<1x96x?x?xf32>, tensor<1x96x112x112xf32>, tensor<1x96x112x112xf32>) {
  %a = tern.conv %x, %w3 {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x16x112x112xf32>, tensor<96x16x3x3xf32>) -> tensor<1x96x112x112xf32>
  %ad = tern.conv %a, %w {dilations = array<i64: 1, 1>, group = 96 : i64, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x96x112x112xf32>, tensor<96x1x3x3xf32>) -> tensor<1x96x112x112xf32>
  %b = tern.conv %x, %we {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x16x112x112xf32>, tensor<96x16x1x1xf32>) -> tensor<1x96x112x112xf32>
  %bg = tern.conv %b, %wg {dilations = array<i64: 1, 1>, group = 48 : i64, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x96x112x112xf32>, tensor<96x2x3x3xf32>) -> tensor<1x96x112x112xf32>
  %c = tern.conv %xd, %we {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x16x?x?xf32>, tensor<96x16x1x1xf32>) -> tensor<1x96x?x?xf32>
  %cd = tern.conv %c, %w {dilations = array<i64: 1, 1>, group = 96 : i64, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x96x?x?xf32>, tensor<96x1x3x3xf32>) -> tensor<1x96x?x?xf32>
  %s = tern.conv %x2, %we {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x16x224x224xf32>, tensor<96x16x1x1xf32>) -> tensor<1x96x112x112xf32>
  %sd = tern.conv %s, %w {dilations = array<i64: 1, 1>, group = 96 : i64, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x96x112x112xf32>, tensor<96x1x3x3xf32>) -> tensor<1x96x112x112xf32>
  %e = tern.conv %x, %we {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x16x112x112xf32>, tensor<96x16x1x1xf32>) -> tensor<1x96x112x112xf32>
  %ec = tern.clip %e min %lo : (tensor<1x96x112x112xf32>, tensor<f32>) -> tensor<1x96x112x112xf32>
  %ed = tern.conv %ec, %w {dilations = array<i64: 1, 1>, group = 96 : i64, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x96x112x112xf32>, tensor<96x1x3x3xf32>) -> tensor<1x96x112x112xf32>
  return %ad, %bg, %cd, %sd, %ed : tensor<1x96x112x112xf32>, tensor<1x96x112x112xf32>, tensor<1x96x?x?xf32>, tensor<1x96x112x112xf32>, tensor<1x96x112x112xf32>
}

// -----

// Must not fire: rows so wide (4096) that a band of one row of 24 channels
// (3 rows of L, 24 x 3 x 4098 floats) does not fit the lowering's buffers.
// CHECK-LABEL: func.func @too_wide
// CHECK-NOT: tern.pointwise_depthwise_conv
func.func @too_wide(%x: tensor<1x16x8x4096xf32>, %we: tensor<96x16x1x1xf32>, %w: tensor<96x1x3x3xf32>) -> tensor<1x96x8x4096xf32> {
  %e = tern.conv %x, %we {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x16x8x4096xf32>, tensor<96x16x1x1xf32>) -> tensor<1x96x8x4096xf32>
  %d = tern.conv %e, %w {dilations = array<i64: 1, 1>, group = 96 : i64, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x96x8x4096xf32>, tensor<96x1x3x3xf32>) -> tensor<1x96x8x4096xf32>
  return %d : tensor<1x96x8x4096xf32>
}
