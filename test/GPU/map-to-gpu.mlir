// RUN: tern-opt %s --split-input-file --tern-map-to-gpu --verify-diagnostics | FileCheck %s

// A 2-D parallel nest: one thread per iteration, 256 per block, the
// iteration number split back into (i, j) with j fastest; the allocation,
// the view and the return stay on the host, and @main gets the runtime's
// hooks as its last argument.
// CHECK-LABEL: func.func @main
// CHECK-SAME: %{{.*}}: memref<?xi8> {tern.name = "__runtime"}
// CHECK: memref.alloc() {{.*}} : memref<4x100xf32>
// CHECK: %[[C256:.*]] = arith.constant 256 : index
// CHECK-NEXT: %[[BLOCKS0:.*]] = arith.ceildivsi %{{.*}}, %[[C256]] : index
// CHECK: %[[BLOCKS:.*]] = arith.maxsi %[[BLOCKS0]]
// CHECK: gpu.launch blocks(%[[BX:[a-z0-9]*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[BLOCKS]], {{.*}}) threads(%[[TX:[a-z0-9]*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C256]],
// CHECK: %[[B:.*]] = arith.muli %[[BX]], %[[C256]]
// CHECK: %[[ID:.*]] = arith.addi %[[B]], %[[TX]]
// CHECK: %[[IN:.*]] = arith.cmpi slt, %[[ID]], %{{.*}}
// CHECK: scf.if %[[IN]] {
// CHECK: %[[J:.*]] = arith.remui %[[ID]], %{{.*}}
// CHECK: %[[I:.*]] = arith.divui %[[ID]], %{{.*}}
// CHECK: memref.load %{{.*}}[%{{.*}}, %{{.*}}] : memref<4x100xf32>
// CHECK: memref.store
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @main(%a: memref<4x100xf32>, %w: memref<?xi8>) -> memref<4x100xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c100 = arith.constant 100 : index
  %out = memref.alloc() {alignment = 64 : i64} : memref<4x100xf32>
  %bias = memref.view %w[%c0][] : memref<?xi8> to memref<100xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c100) step (%c1, %c1) {
    %x = memref.load %a[%i, %j] : memref<4x100xf32>
    %b = memref.load %bias[%j] : memref<100xf32>
    %y = arith.addf %x, %b : f32
    memref.store %y, %out[%i, %j] : memref<4x100xf32>
    scf.reduce
  }
  return %out : memref<4x100xf32>
}

// -----

// A 0-d tensor's arithmetic between loops: the loads, the arithmetic on
// what they load and the stores run in one one-thread launch, with the
// sequential loop before them; the views between them stay on the host.
// CHECK-LABEL: func.func @main
// CHECK: %[[V0:.*]] = memref.view
// CHECK: %[[V1:.*]] = memref.view
// CHECK: %[[ONE:.*]] = arith.constant 1 : index
// CHECK-NEXT: gpu.launch blocks({{.*}}) in (%{{.*}} = %[[ONE]], %{{.*}} = %[[ONE]], %{{.*}} = %[[ONE]]) threads({{.*}}) in (%{{.*}} = %[[ONE]], %{{.*}} = %[[ONE]], %{{.*}} = %[[ONE]])
// CHECK: scf.for
// CHECK: memref.load %[[V0]][]
// CHECK: memref.load %[[V1]][]
// CHECK: arith.subf
// CHECK: memref.store
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @main(%a: memref<8xf32>, %arena: memref<?xi8>) -> memref<f32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c64 = arith.constant 64 : index
  %out = memref.alloc() : memref<f32>
  %lo = memref.view %arena[%c0][] : memref<?xi8> to memref<f32>
  scf.for %i = %c0 to %c8 step %c1 {
    %x = memref.load %a[%i] : memref<8xf32>
    %m = memref.load %lo[] : memref<f32>
    %y = arith.minimumf %x, %m : f32
    memref.store %y, %lo[] : memref<f32>
  }
  %hi = memref.view %arena[%c64][] : memref<?xi8> to memref<f32>
  %l = memref.load %lo[] : memref<f32>
  %h = memref.load %hi[] : memref<f32>
  %d = arith.subf %h, %l : f32
  memref.store %d, %out[] : memref<f32>
  return %out : memref<f32>
}

// -----

// Must not launch anything: no op touches tensor data.
// CHECK-LABEL: func.func @main
// CHECK-NOT: gpu.launch
// CHECK: memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @main(%a: memref<?x4xf32>) -> memref<?xf32> {
  %c0 = arith.constant 0 : index
  %n = memref.dim %a, %c0 : memref<?x4xf32>
  %out = memref.alloc(%n) : memref<?xf32>
  return %out : memref<?xf32>
}

// -----

// A size read from tensor data cannot be known on the host.
func.func @main(%a: memref<i64>) -> memref<?xf32> {
  %x = memref.load %a[] : memref<i64>
  %n = arith.index_cast %x : i64 to index
  // expected-error @below {{'memref.alloc' needs a value computed from tensor data on the host}}
  %out = memref.alloc(%n) : memref<?xf32>
  return %out : memref<?xf32>
}

// -----

// A scalar read from an input (never written) used inside a later loop
// nest is read again inside that launch (Trilu's k); the host keeps none.
// CHECK-LABEL: func.func @main
// CHECK-NOT: memref.load
// CHECK: gpu.launch
// CHECK-NEXT: %[[K:.*]] = memref.load %arg1[] : memref<i64>
// CHECK: scf.if
// CHECK: arith.cmpi sle, %{{.*}}, %[[K]] : i64
// CHECK: gpu.terminator
func.func @main(%a: memref<16xi64>, %k: memref<i64>) -> memref<16xi1> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %out = memref.alloc() : memref<16xi1>
  %kv = memref.load %k[] : memref<i64>
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    %x = memref.load %a[%i] : memref<16xi64>
    %le = arith.cmpi sle, %x, %kv : i64
    memref.store %le, %out[%i] : memref<16xi1>
    scf.reduce
  }
  return %out : memref<16xi1>
}

// -----

// Not re-read: a scalar of the arena (written by the model) stays in the
// one-thread run that reads it, and the loop nest reads it from memory.
// CHECK-LABEL: func.func @main
// CHECK: gpu.launch
// CHECK: memref.store
// CHECK: gpu.terminator
// CHECK: gpu.launch
// CHECK-NOT: gpu.launch
// CHECK: memref.load %[[S:.*]][] : memref<f32>
func.func @main(%a: memref<16xf32>, %arena: memref<?xi8>) -> memref<16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %cst = arith.constant 2.0 : f32
  %out = memref.alloc() : memref<16xf32>
  %s = memref.view %arena[%c0][] : memref<?xi8> to memref<f32>
  memref.store %cst, %s[] : memref<f32>
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    %x = memref.load %a[%i] : memref<16xf32>
    %v = memref.load %s[] : memref<f32>
    %y = arith.mulf %x, %v : f32
    memref.store %y, %out[%i] : memref<16xf32>
    scf.reduce
  }
  return %out : memref<16xf32>
}

// -----

// A read of an input at an index the GPU computed is not re-read elsewhere
// (its index lives in another kernel): a later loop needing it is refused.
func.func @main(%a: memref<16xf32>, %arena: memref<?xi8>) -> memref<16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %out = memref.alloc() : memref<16xf32>
  %iv = memref.view %arena[%c0][] : memref<?xi8> to memref<index>
  memref.store %c1, %iv[] : memref<index>
  %i = memref.load %iv[] : memref<index>
  %x = memref.load %a[%i] : memref<16xf32>
  scf.parallel (%j) = (%c0) to (%c16) step (%c1) {
    // expected-error @below {{'memref.store' uses a value computed on the GPU outside its kernel}}
    memref.store %x, %out[%j] : memref<16xf32>
    scf.reduce
  }
  return %out : memref<16xf32>
}
