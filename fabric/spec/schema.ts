// The wafer fabric spec: what a mesh of tiles is. Validated strictly (unknown keys rejected); presets live in
// presets.ts with every number cited to docs/hardware.md or marked as an assumption.
import { z } from 'zod';

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

// Upper bounds: what a spec file may describe before wafer refuses it, so no file makes it allocate or work without
// bound (every per-tile table is sized by the mesh). Each is far above any wafer built or announced (docs/robustness.md).
/** Tiles a side: 4096, over 4× the 994 rows of WSE-2/WSE-3's program rectangle (presets.ts). */
export const MAX_MESH_SIDE = 4096;
/** Tiles in the program rectangle with its spares: 2^22 ≈ 4.2 million, ~5× WSE-3's 900,000 cores. */
export const MAX_MESH_TILES = 1 << 22;
/** Spare columns/rows beside the rectangle: at most a side's worth. */
const MAX_SPARES = 1024;
/** Smallest SRAM a tile may have: 1 KiB (a tile must hold a few activation vectors and its queues; real tiles have 48 KiB). */
export const MIN_SRAM_BYTES_PER_TILE = 1024;
/** Largest SRAM per tile: 64 MiB, 1,365× the 48 KiB of a WSE tile; an f32 buffer length still fits 2^24 elements. */
export const MAX_SRAM_BYTES_PER_TILE = 64 << 20;
/** Clocks up to 100 GHz: any faster is a unit mistake (Hz, not MHz). */
const MAX_CLOCK_HZ = 100e9;
/** Lanes, banks, queue depths, latencies, access widths: small integers in hardware; 4096 is far above any. */
const small = positiveInt.max(4096);
const smallOrZero = nonNegativeInt.max(4096);

export const simdWidthSchema = z.strictObject({
  /** FP16/BF16 FMACs per cycle (WSE-2: 4, WSE-3: 8 — docs/hardware.md#simd-widths `@fmach`). */
  f16: small,
  /** FP32 FMACs per cycle (docs/hardware.md#simd-widths: `@fmacs` not listed, presumably 1 [?]). */
  f32: small,
  /**
   * FP32 adds, scales and moves per cycle (docs/hardware.md#simd-widths: `@fadds`, `@fscales`, `@fmovs` 2 on WSE-2, 4 on WSE-3).
   * Optional in spec files: absent, they run at the FMA width `f32` (the conservative reading).
   */
  f32Add: small.optional(),
  /**
   * FP16×FP16 products accumulated in FP32 per cycle (docs/hardware.md#simd-widths: `@fmachs` 2 on WSE-2, 4 on WSE-3): attention over a
   * 16-bit KV cache. Optional in spec files: absent, at the FMA width `f32`.
   */
  f16Acc32: small.optional(),
  /**
   * FP32 maxima (compares) per cycle (docs/hardware.md#simd-widths: `@fmaxs` 1 on WSE-2, 4 on WSE-3): softmax maxima,
   * top-k and argmax. Optional in spec files: absent, at the FMA width `f32`.
   */
  f32Max: small.optional(),
  /** int8 MACs per cycle (assumption: as f16). */
  int8: small,
});

/**
 * The cost constants the engine (fabric/mesh/cost.ts) and the projection (compiler/project) both read that are no
 * property of the hardware's published figures: each is an assumption named in fabric/spec/assumptions.ts (with its
 * plausible range and why) and in docs/assumptions.md. Optional in spec files; each field absent takes its default.
 */
export const DEFAULT_COSTS = Object.freeze({
  /** Cycles to set up one op (a DSD descriptor and its loop) before data flows. */
  opSetupCycles: 1,
  /** Cycles per output row of a matvec to reduce the SIMD accumulator lanes and write y[r]. */
  matvecRowOverheadCycles: 1,
  /** Cycles per element of a transcendental (exp, rsqrt, sin/cos, a divide): a short polynomial, ~8 FMAs. */
  transcendentalCycles: 8,
  /** CE cycles to issue a send (hand a fabric-output DSD to the ramp). */
  sendIssueCycles: 1,
  /** Bytes per activation value crossing an inter-wafer link (bf16). */
  interWaferBytesPerValue: 2,
  /** Bits per routed-expert weight held as MXFP4: 4-bit elements plus an 8-bit scale per 32 (OCP MX). */
  mxfp4BitsPerWeight: 4.25,
  /** 16-bit operations to decode one MXFP4 weight to bf16: a lookup of its element and an add of its block's exponent. */
  mxfp4DecodeOpsPerWeight: 2,
});

export const costsSchema = z
  .strictObject({
    opSetupCycles: smallOrZero.default(DEFAULT_COSTS.opSetupCycles),
    matvecRowOverheadCycles: smallOrZero.default(DEFAULT_COSTS.matvecRowOverheadCycles),
    transcendentalCycles: smallOrZero.default(DEFAULT_COSTS.transcendentalCycles),
    sendIssueCycles: smallOrZero.default(DEFAULT_COSTS.sendIssueCycles),
    /** 1 (8-bit) to 4 (f32). */
    interWaferBytesPerValue: z.number().int().min(1).max(4).default(DEFAULT_COSTS.interWaferBytesPerValue),
    /** At least the 4 bits of an element, at most 16. */
    mxfp4BitsPerWeight: z.number().min(4).max(16).default(DEFAULT_COSTS.mxfp4BitsPerWeight),
    /** 0 (free, as a hardware decoder would make it) to 16. */
    mxfp4DecodeOpsPerWeight: z.number().min(0).max(16).default(DEFAULT_COSTS.mxfp4DecodeOpsPerWeight),
  })
  .prefault({});

export type FabricCosts = z.infer<typeof costsSchema>;

export const fabricSpecSchema = z.strictObject({
  name: z.string().min(1).max(100),
  kind: z.literal('wafer'),
  /** Logical program rectangle that software sees, in tiles. */
  widthTiles: positiveInt.max(MAX_MESH_SIDE),
  heightTiles: positiveInt.max(MAX_MESH_SIDE),
  /** Physical spares beside the rectangle, used by the `remap` repair policy. */
  spareColumns: nonNegativeInt.max(MAX_SPARES),
  spareRows: nonNegativeInt.max(MAX_SPARES),
  clockHz: z.number().positive().max(MAX_CLOCK_HZ),
  sramBytesPerTile: positiveInt.min(MIN_SRAM_BYTES_PER_TILE).max(MAX_SRAM_BYTES_PER_TILE),
  sramBanks: small,
  /** SRAM reads and writes the compute engine can do per cycle, and their width. */
  sramReadsPerCycle: small,
  sramWritesPerCycle: small,
  sramAccessBytes: small,
  simdWidth: simdWidthSchema,
  /** Cycles for a wavelet to cross one link, router to router. */
  hopLatencyCycles: small,
  /** Cycles between a compute engine and its own router (each way). */
  rampLatencyCycles: smallOrZero,
  /** Extra cycles a `remap` bypass around a repaired tile costs. */
  bypassLatencyCycles: smallOrZero,
  /** Routable colours (virtual channels) a router knows. */
  colours: positiveInt.max(32),
  /**
   * Colours a tile's compute engine can receive on at once: the input queues its wavelet-triggered tasks and fabric
   * reads bind to (8 on WSE-3). Absent: one per routable colour. The compiler does not hold layouts to it; a
   * projection reports where its tiles receive on more (ProjectionReport.receiveStreamsPerTile).
   */
  receiveQueues: positiveInt.max(32).optional(),
  waveletBits: small,
  /** Depth of each per-colour input queue of a router, in wavelets. */
  queueDepthWavelets: small,
  /** Fixed cycles to start a task (task picker + setup). */
  taskStartCycles: smallOrZero,
  /** Inter-wafer link for multi-wafer pipelines. */
  interWafer: z.strictObject({
    /** Up to 1 PB/s and 1 s: beyond, a unit mistake. */
    bytesPerSecond: z.number().positive().max(1e15),
    latencySeconds: z.number().nonnegative().max(1),
  }),
  /** Cost constants that are assumptions (fabric/spec/assumptions.ts); absent, the defaults. */
  costs: costsSchema,
}).superRefine((s, ctx) => {
  const tiles = (s.widthTiles + s.spareColumns) * (s.heightTiles + s.spareRows);
  if (tiles > MAX_MESH_TILES) {
    ctx.addIssue({ code: 'custom', path: ['widthTiles'], message: `the grid with spares has ${tiles} tiles, more than the ${MAX_MESH_TILES} wafer can hold in memory` });
  }
});

export type FabricSpec = z.infer<typeof fabricSpecSchema>;
