// The ISA: program types (the compiler <-> engine contract), its strict schema, load-time validation, SRAM sizes.
export * from './types.js';
export { programSchema, opSchema, taskSchema, tileProgramSchema, bufferDeclSchema, routeEntrySchema, sliceSchema, triggerSchema } from './schema.js';
export { loadProgram, validateProgram } from './validate.js';
export { dtypeBytes, bufferBytes, tileSramBytes, tileSramBytesByRole } from './sram.js';
