// The cycle-approximate mesh engine, its cost functions (shared with the projection) and synthetic traffic.
export { MeshEngine, MeshRunError, type WeightProvider, type MeshOptions, type StepResult, type MeshStats, type TraceEvent } from './engine.js';
export * from './cost.js';
