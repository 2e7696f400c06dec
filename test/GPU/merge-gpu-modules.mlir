// RUN: tern-opt %s --tern-merge-gpu-modules | FileCheck %s

// Two outlined kernels, each in its own module, become one module whose
// functions are named after their old modules; the launches follow.
// CHECK: gpu.launch_func @tern_kernels::@main_kernel blocks
// CHECK: gpu.launch_func @tern_kernels::@main_kernel_0 blocks
// CHECK-NOT: gpu.module @main_kernel
// CHECK: gpu.module @tern_kernels
// CHECK: gpu.func @main_kernel() kernel
// CHECK: gpu.func @main_kernel_0() kernel
// CHECK-NOT: gpu.module
module attributes {gpu.container_module} {
  func.func @main() {
    %c1 = arith.constant 1 : index
    gpu.launch_func @main_kernel::@main_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    gpu.launch_func @main_kernel_0::@main_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    return
  }
  gpu.module @main_kernel {
    gpu.func @main_kernel() kernel {
      gpu.return
    }
  }
  gpu.module @main_kernel_0 {
    gpu.func @main_kernel() kernel {
      gpu.return
    }
  }
}
