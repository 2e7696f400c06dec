// RUN: tern-opt %s --tern-outline-parallel-loops=min-iterations=16384 | FileCheck %s

// A large loop nest becomes a task over its largest dim; small loops and
// loops that do not start at 0 with step 1 stay where they are.
// CHECK-LABEL: func.func private @__tern_task_0(%arg0: index, %arg1: index, %arg2: memref<512x64xf32>, %arg3: memref<512x64xf32>)
// CHECK: scf.parallel (%[[I:.+]], %[[J:.+]]) = (%arg0, %c0{{.*}}) to (%arg1, %c64{{.*}}) step
// CHECK: memref.load %arg2[%[[I]], %[[J]]]
// CHECK-LABEL: func.func @main(%arg0: memref<512x64xf32>, %arg1: memref<512x64xf32>, %arg2: memref<8xf32>, %arg3: memref<?xi8> {tern.name = "__runtime"})
// CHECK: call @__tern_task_0(%c0{{.*}}, %c512{{.*}}, %arg0, %arg1)
// CHECK: scf.parallel (%{{.+}}) = (%c0{{.*}}) to (%c8{{.*}})
// CHECK: scf.parallel (%{{.+}}) = (%c1{{.*}}) to (%c512{{.*}})
// CHECK: scf.parallel (%{{.+}}) = (%c0{{.*}}) to (%c8{{.*}})
// CHECK: call @__tern_task_1(%c0{{.*}}, %c8{{.*}}, %arg0)
// CHECK-NOT: call @__tern_task_2
func.func @main(%a: memref<512x64xf32>, %b: memref<512x64xf32>, %s: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c64 = arith.constant 64 : index
  %c512 = arith.constant 512 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c512, %c64) step (%c1, %c1) {
    %v = memref.load %a[%i, %j] : memref<512x64xf32>
    memref.store %v, %b[%i, %j] : memref<512x64xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %s[%i] : memref<8xf32>
    memref.store %v, %s[%i] : memref<8xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c1) to (%c512) step (%c1) {
    %v = memref.load %a[%i, %c0] : memref<512x64xf32>
    memref.store %v, %b[%i, %c0] : memref<512x64xf32>
    scf.reduce
  }
  // 8 x (64 + 64 + max(512, 64)) = 5120 iterations: loops side by side add
  // up, branches count their larger side, so this stays (their product
  // would be far above the threshold).
  %cond = arith.constant true
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    scf.for %k = %c0 to %c64 step %c1 {
      %f = arith.index_cast %k : index to i32
      %g = arith.sitofp %f : i32 to f32
      memref.store %g, %s[%i] : memref<8xf32>
    }
    scf.for %k = %c0 to %c64 step %c1 {
      %f = arith.index_cast %k : index to i32
      %g = arith.sitofp %f : i32 to f32
      memref.store %g, %s[%i] : memref<8xf32>
    }
    scf.if %cond {
      scf.for %k = %c0 to %c512 step %c1 {
        %f = arith.index_cast %k : index to i32
      %g = arith.sitofp %f : i32 to f32
      memref.store %g, %s[%i] : memref<8xf32>
      }
    } else {
      scf.for %k = %c0 to %c64 step %c1 {
        %f = arith.index_cast %k : index to i32
      %g = arith.sitofp %f : i32 to f32
      memref.store %g, %s[%i] : memref<8xf32>
      }
    }
    scf.reduce
  }
  // 8 x 256 iterations of a 16-lane vector op count as 32768: outlined.
  %v0 = arith.constant dense<1.0> : vector<16xf32>
  %c256 = arith.constant 256 : index
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %r = scf.for %k = %c0 to %c256 step %c1 iter_args(%acc = %v0) -> vector<16xf32> {
      %n = arith.addf %acc, %acc : vector<16xf32>
      scf.yield %n : vector<16xf32>
    }
    vector.store %r, %a[%i, %c0] : memref<512x64xf32>, vector<16xf32>
    scf.reduce
  }
  return
}
