// Strict zod schema of an ISA program (types.ts), for `--program` files and anything else that arrives as JSON.
// Structural checks only (shapes, kinds, integer ranges); the semantic load-time checks (mesh, SRAM, colours,
// routes, slices) are in validate.ts.
import { z } from 'zod';
import type { Program } from './types.js';

// Bounds (docs/robustness.md): every integer of a program is an index, length or count the engine keeps in 32-bit
// tables, and the largest fabric (fabric/spec/schema.ts) has 64 MiB of SRAM per tile, so 2^26 bounds every element
// offset and length; colours are below 32 (a router's limit), ports 5 per route.
const MAX_PROGRAM_INT = 1 << 26;
const nonNegativeInt = z.number().int().nonnegative().max(MAX_PROGRAM_INT);
const positiveInt = z.number().int().positive().max(MAX_PROGRAM_INT);
const colour = z.number().int().nonnegative().max(31);
const range = z.tuple([nonNegativeInt, nonNegativeInt]);

export const portSchema = z.enum(['ramp', 'N', 'E', 'S', 'W']);

export const routeEntrySchema = z.strictObject({
  colour,
  from: portSchema,
  to: z.array(portSchema).min(1).max(5),
});

export const bufferDtypeSchema = z.enum(['f32', 'bf16', 'f16', 'int8', 'i32']);

export const bufferInitSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('zeros') }),
  z.strictObject({ kind: z.literal('weights'), tensor: z.string().min(1), rows: range, cols: range, format: z.literal('mxfp4').optional() }),
  z.strictObject({ kind: z.literal('scales'), tensor: z.string().min(1), rows: range, cols: range }),
  z.strictObject({ kind: z.literal('vector'), tensor: z.string().min(1), range }),
]);

export const bufferDeclSchema = z.strictObject({
  name: z.string().min(1),
  dtype: bufferDtypeSchema,
  length: positiveInt,
  init: bufferInitSchema,
  role: z.enum(['weights', 'activation', 'kv-cache', 'scratch']),
});

export const sliceSchema = z.strictObject({
  buf: z.string().min(1),
  offset: nonNegativeInt,
  length: positiveInt,
});

/** The positions a KV chunk tile's caches hold (types.ts KvWindow). */
const windowSchema = z.strictObject({ first: nonNegativeInt, positions: positiveInt });

export const opSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('matvec'), w: z.string().min(1), scales: z.string().min(1).optional(), rows: positiveInt, cols: positiveInt, x: sliceSchema, y: sliceSchema, accumulate: z.boolean(), format: z.literal('mxfp4').optional(), blockOffset: z.number().int().min(0).max(31).optional() }),
  z.strictObject({ op: z.literal('send'), colour, src: sliceSchema }),
  z.strictObject({ op: z.literal('add'), a: sliceSchema, b: sliceSchema, out: sliceSchema }),
  z.strictObject({ op: z.literal('copy'), src: sliceSchema, out: sliceSchema }),
  z.strictObject({ op: z.literal('axpy'), a: sliceSchema, weight: sliceSchema, index: nonNegativeInt, out: sliceSchema }),
  z.strictObject({ op: z.literal('rmsnorm'), x: sliceSchema, weight: sliceSchema, out: sliceSchema, eps: z.number().positive() }),
  z.strictObject({ op: z.literal('sumsq'), x: sliceSchema, out: sliceSchema }),
  z.strictObject({ op: z.literal('normScale'), x: sliceSchema, sumsq: sliceSchema, count: positiveInt, weight: sliceSchema, out: sliceSchema, eps: z.number().positive() }),
  z.strictObject({ op: z.literal('rope'), x: sliceSchema, numHeads: positiveInt, headDim: positiveInt, theta: z.number().positive(), angles: sliceSchema.optional() }),
  z.strictObject({ op: z.literal('ropeAngles'), out: sliceSchema, headDim: positiveInt, theta: z.number().positive() }),
  z.strictObject({ op: z.literal('kvAppend'), k: sliceSchema, v: sliceSchema, kCache: z.string().min(1), vCache: z.string().min(1), rowLength: positiveInt, window: windowSchema.optional() }),
  z.strictObject({ op: z.literal('attention'), q: sliceSchema, kCache: z.string().min(1), vCache: z.string().min(1), out: sliceSchema, numHeads: positiveInt, numKvHeads: positiveInt, headDim: positiveInt, stats: sliceSchema.optional(), window: windowSchema.optional() }),
  z.strictObject({ op: z.literal('attnMerge'), stats: sliceSchema, other: sliceSchema, factors: sliceSchema, numHeads: positiveInt }),
  z.strictObject({ op: z.literal('attnMergeRows'), out: sliceSchema, other: sliceSchema, factors: sliceSchema, numHeads: positiveInt, headDim: positiveInt, first: nonNegativeInt }),
  z.strictObject({ op: z.literal('attnFinish'), stats: sliceSchema, rows: sliceSchema, out: sliceSchema, numHeads: positiveInt, headDim: positiveInt }),
  z.strictObject({ op: z.literal('swiglu'), gate: sliceSchema, up: sliceSchema, out: sliceSchema }),
  z.strictObject({ op: z.literal('topk'), logits: sliceSchema, k: positiveInt, renormalize: z.boolean(), indices: sliceSchema, weights: sliceSchema, denseWeights: sliceSchema.optional() }),
  z.strictObject({ op: z.literal('dispatch'), indices: sliceSchema, colours: z.array(z.union([colour, z.literal(-1)])).min(1), src: sliceSchema }),
  z.strictObject({ op: z.literal('argmax'), x: sliceSchema, indexBase: nonNegativeInt, out: sliceSchema }),
  z.strictObject({ op: z.literal('argmaxMerge'), a: sliceSchema, b: sliceSchema, out: sliceSchema }),
  z.strictObject({ op: z.literal('embed'), table: z.string().min(1), scales: z.string().min(1).optional(), rowBase: nonNegativeInt, rows: positiveInt, cols: positiveInt, token: sliceSchema, colours: z.array(colour).min(1), sliceCols: positiveInt }),
  z.strictObject({ op: z.literal('output'), name: z.string().min(1), src: sliceSchema }),
  z.strictObject({ op: z.literal('waferLink'), bytes: positiveInt }),
]);

export const triggerSchema = z.discriminatedUnion('on', [
  z.strictObject({ on: z.literal('start') }),
  z.strictObject({ on: z.literal('recv'), colour, count: positiveInt, into: sliceSchema }),
  z.strictObject({ on: z.literal('after'), tasks: z.array(nonNegativeInt).min(1), count: positiveInt.optional() }),
]);

export const taskSchema = z.strictObject({
  id: nonNegativeInt,
  trigger: triggerSchema,
  ops: z.array(opSchema),
  streams: nonNegativeInt.optional(),
  forwards: z.boolean().optional(),
  label: z.string().optional(),
});

export const tileProgramSchema = z.strictObject({
  x: nonNegativeInt,
  y: nonNegativeInt,
  buffers: z.array(bufferDeclSchema),
  routes: z.array(routeEntrySchema),
  tasks: z.array(taskSchema),
  role: z.string(),
});

export const hostInputSchema = z.strictObject({
  x: nonNegativeInt,
  y: nonNegativeInt,
  buf: z.string().min(1),
  value: z.literal('token'),
});

export const programSchema = z.strictObject({
  isaVersion: z.number().int(),
  fabric: z.string().min(1),
  widthTiles: positiveInt,
  heightTiles: positiveInt,
  maxSeq: positiveInt,
  tiles: z.array(tileProgramSchema),
  hostInputs: z.array(hostInputSchema),
  tokenOutput: z.string().min(1),
  logitOutputs: z.array(z.strictObject({ name: z.string().min(1), offset: nonNegativeInt })),
});

// Compile-time guard: the schema's output must stay assignable to the hand-written types (and back), so the two
// cannot drift apart silently.
type Parsed = z.infer<typeof programSchema>;
type AssertAssignable<A, B extends A> = B;
export type _ProgramMatchesSchema = AssertAssignable<Omit<Program, 'isaVersion'>, Omit<Parsed, 'isaVersion'>>;
export type _SchemaMatchesProgram = AssertAssignable<Omit<Parsed, 'isaVersion'>, Omit<Program, 'isaVersion'>>;
