// The wafer fabric spec: what a mesh of tiles is. Validated strictly (unknown keys rejected); presets live in
// presets.ts with every number cited to docs/hardware.md or marked as an assumption.
import { z } from 'zod';

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

export const simdWidthSchema = z.strictObject({
  /** FP16/BF16 FMACs per cycle (WSE-2: 4, WSE-3: 8 — docs/hardware.md#simd-widths `@fmach`). */
  f16: positiveInt,
  /** FP32 FMACs per cycle (docs/hardware.md#simd-widths: `@fmacs` not listed, presumably 1 [?]). */
  f32: positiveInt,
  /**
   * FP32 adds, scales and moves per cycle (docs/hardware.md#simd-widths: `@fadds`, `@fscales`, `@fmovs` 2 on WSE-2, 4 on WSE-3).
   * Optional in spec files: absent, they run at the FMA width `f32` (the conservative reading).
   */
  f32Add: positiveInt.optional(),
  /**
   * FP16×FP16 products accumulated in FP32 per cycle (docs/hardware.md#simd-widths: `@fmachs` 2 on WSE-2, 4 on WSE-3): attention over a
   * 16-bit KV cache. Optional in spec files: absent, at the FMA width `f32`.
   */
  f16Acc32: positiveInt.optional(),
  /** int8 MACs per cycle (assumption: as f16). */
  int8: positiveInt,
});

export const fabricSpecSchema = z.strictObject({
  name: z.string().min(1),
  kind: z.literal('wafer'),
  /** Logical program rectangle that software sees, in tiles. */
  widthTiles: positiveInt,
  heightTiles: positiveInt,
  /** Physical spares beside the rectangle, used by the `remap` repair policy. */
  spareColumns: nonNegativeInt,
  spareRows: nonNegativeInt,
  clockHz: z.number().positive(),
  sramBytesPerTile: positiveInt,
  sramBanks: positiveInt,
  /** SRAM reads and writes the compute engine can do per cycle, and their width. */
  sramReadsPerCycle: positiveInt,
  sramWritesPerCycle: positiveInt,
  sramAccessBytes: positiveInt,
  simdWidth: simdWidthSchema,
  /** Cycles for a wavelet to cross one link, router to router. */
  hopLatencyCycles: positiveInt,
  /** Cycles between a compute engine and its own router (each way). */
  rampLatencyCycles: nonNegativeInt,
  /** Extra cycles a `remap` bypass around a repaired tile costs. */
  bypassLatencyCycles: nonNegativeInt,
  /** Routable colours (virtual channels) a router knows. */
  colours: positiveInt.max(32),
  waveletBits: positiveInt,
  /** Depth of each per-colour input queue of a router, in wavelets. */
  queueDepthWavelets: positiveInt,
  /** Fixed cycles to start a task (task picker + setup). */
  taskStartCycles: nonNegativeInt,
  /** Inter-wafer link for multi-wafer pipelines. */
  interWafer: z.strictObject({
    bytesPerSecond: z.number().positive(),
    latencySeconds: z.number().nonnegative(),
  }),
});

export type FabricSpec = z.infer<typeof fabricSpecSchema>;
