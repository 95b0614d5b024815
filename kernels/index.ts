// kernels/: numeric kernels on typed arrays. Imports nothing else of the project (docs/design.md#layers).
export * from './dtype.js';
export * from './matvec.js';
export * from './vector.js';
export * from './attention.js';
export * from './gating.js';
export * from './mxfp4.js';
export * from './wasmKernels.js';
export * from './gpujs.js';
