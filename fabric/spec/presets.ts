// Frozen fabric presets. Every number cites a heading of docs/hardware.md or says "assumption".
//
// Clock: the SDK examples convert cycles to time at 850 MHz (docs/hardware.md#clock), but the published wafer aggregates
// (20–22 PB/s SRAM, 220 Pb/s fabric, docs/hardware.md#clock) only come out at the 1.1 GHz maximum clock (docs/hardware.md#clock: WaferLLM §7
// "maximum of 1.1 GHz", HC34 core description). At 850 MHz, 745,500 tiles × 24 B/cycle give 15.2 PB/s, far below
// the published figure; at 1.1 GHz they give 19.7 PB/s, and the derived check (docs/hardware.md#consistency-checks, derived) is
// 24 B × 1.1 GHz × 850k marketed cores = 22.4 PB/s. So every preset here runs at 1.1 GHz, consistently; a spec file
// with `"clockHz": 850e6` reproduces the SDK's time convention. The published aggregates count the marketed 850,000
// cores, the program rectangle has 745,500; see fabric/spec/derived.ts and its test.
import { DEFAULT_COSTS, type FabricSpec } from './schema.js';

/** 12 × 100 GbE system I/O = 1.2 Tb/s = 150 GB/s per wafer (docs/hardware.md#wafer-chip "System I/O"). */
const INTERWAFER_BYTES_PER_SECOND = (12 * 100e9) / 8;
/** Assumption: ~2 µs one-way latency through the Ethernet I/O between two systems (not published). */
const INTERWAFER_LATENCY_SECONDS = 2e-6;

/** The WSE-3-like tile shared by wse3 and the small meshes. */
const wse3Tile = {
  clockHz: 1.1e9, // assumption: WSE-3's clock is not published (docs/hardware.md#clock "[?]"); WSE-2's 1.1 GHz max (docs/hardware.md#clock)
  sramBytesPerTile: 48 * 1024, // 48 KB per PE (docs/hardware.md#wafer-chip, docs/hardware.md#sram-banks)
  sramBanks: 8, // 8 banks of 6 KB (docs/hardware.md#sram-banks, SDK Appendix)
  sramReadsPerCycle: 2, // two reads + one write per cycle (docs/hardware.md#sram-banks)
  sramWritesPerCycle: 1, // (docs/hardware.md#sram-banks)
  sramAccessBytes: 8, // 64-bit reads/writes per HC34 (docs/hardware.md#sram-banks; the SDK appendix says 32-bit — see conflict there)
  simdWidth: {
    f16: 8, // `@fmach` 8-wide on WSE-3 (docs/hardware.md#simd-widths SIMD table)
    f32: 1, // `@fmacs` not listed, presumably 1 (docs/hardware.md#simd-widths "[?]", docs/hardware.md#emulator-defaults)
    f32Add: 4, // `@fadds`, `@fscales`, `@fmovs` 4-wide on WSE-3 (docs/hardware.md#simd-widths SIMD table)
    f16Acc32: 4, // `@fmachs` (FP16×FP16 -> FP32 accumulate) 4-wide on WSE-3 (docs/hardware.md#simd-widths SIMD table)
    f32Max: 4, // `@fmaxs` (FP32 maximum) 4-wide on WSE-3 (docs/hardware.md#simd-widths SIMD table)
    int8: 8, // assumption: as f16
  },
  hopLatencyCycles: 1, // one wavelet to a neighbour in a single cycle (docs/hardware.md#hop-and-ramp-latency)
  rampLatencyCycles: 2, // CE<->router ramp T_R ≈ 2 cycles (docs/hardware.md#hop-and-ramp-latency, Luczynski et al.; docs/hardware.md#emulator-defaults "[?]")
  bypassLatencyCycles: 1, // a bypass around a repaired tile adds a hop (docs/hardware.md#defects-and-redundancy, docs/hardware.md#emulator-defaults; exact penalty not public)
  colours: 24, // 24 routable colours, 5-bit tag (docs/hardware.md#router-and-colours)
  receiveQueues: 8, // WSE-3 binds data tasks to 8 input queues (docs/hardware.md#tasks-and-queues)
  waveletBits: 32, // 32-bit wavelets (docs/hardware.md#router-and-colours)
  queueDepthWavelets: 8, // assumption: hardware queues are "small" (docs/hardware.md#tasks-and-queues); 8 input queues on WSE-3 is a count, not a depth
  taskStartCycles: 4, // assumption: task picker + setup; not published
  interWafer: { bytesPerSecond: INTERWAFER_BYTES_PER_SECOND, latencySeconds: INTERWAFER_LATENCY_SECONDS },
  costs: { ...DEFAULT_COSTS }, // assumptions, each named in fabric/spec/assumptions.ts
} as const;

const wse2: FabricSpec = {
  name: 'wse2',
  kind: 'wafer',
  widthTiles: 750, // WSE-2 program rectangle 750 × 994 (docs/hardware.md#fabric-dimensions)
  heightTiles: 994, // (docs/hardware.md#fabric-dimensions)
  spareColumns: 8, // ~1% of 750: WSE-1 had 1–1.5% spare cores, a defect shifts its row toward a spare (docs/hardware.md#defects-and-redundancy)
  spareRows: 2, // assumption: a few spare rows for rows with more defects than spare columns (docs/hardware.md#emulator-defaults)
  ...wse3Tile,
  receiveQueues: 24, // WSE-2 data tasks take IDs 0–23, one per routable colour (docs/hardware.md#tasks-and-queues)
  clockHz: 1.1e9, // max clock 1.1 GHz (docs/hardware.md#clock; WaferLLM §7, HC34) — see the header for why not 850 MHz
  simdWidth: {
    f16: 4, // `@fmach` 4-wide on WSE-2 (docs/hardware.md#simd-widths SIMD table)
    f32: 1, // `@fmacs` not listed, presumably 1 (docs/hardware.md#simd-widths "[?]")
    f32Add: 2, // `@fadds`, `@fscales`, `@fmovs` 2-wide on WSE-2 (docs/hardware.md#simd-widths SIMD table)
    f16Acc32: 2, // `@fmachs` (FP16×FP16 -> FP32 accumulate) 2-wide on WSE-2 (docs/hardware.md#simd-widths SIMD table)
    f32Max: 1, // `@fmaxs` (FP32 maximum) 1-wide on WSE-2 (docs/hardware.md#simd-widths SIMD table)
    int8: 4, // assumption: as f16
  },
};

const wse3: FabricSpec = {
  name: 'wse3',
  kind: 'wafer',
  widthTiles: 755, // WSE-3 program rectangle ≤ 755 × 1170 (docs/hardware.md#fabric-dimensions)
  heightTiles: 1170, // (docs/hardware.md#fabric-dimensions)
  spareColumns: 55, // 900,000 enabled of 970,000 physical cores ≈ 7.2% spare (docs/hardware.md#defects-and-redundancy): 7.2% of 755 ≈ 55 columns
  spareRows: 2, // assumption (docs/hardware.md#emulator-defaults)
  ...wse3Tile,
};

/**
 * A small square mesh of WSE-3-like tiles for tests and demos: `mini-N` is N × N tiles. Spares scale with the side —
 * 1/8 spare columns and 1/16 spare rows (at least 2 and 1) — so the remap repair survives a few percent of defects,
 * as the real wafer's ~7% spare cores do (docs/hardware.md#defects-and-redundancy); the exact ratio is an assumption.
 */
function mini(side: number): FabricSpec {
  return {
    name: `mini-${side}`,
    kind: 'wafer',
    widthTiles: side, // assumption: a small test mesh
    heightTiles: side,
    spareColumns: Math.max(2, Math.ceil(side / 8)), // assumption (docs/hardware.md#defects-and-redundancy ratio is ~1–7% spare cores)
    spareRows: Math.max(1, Math.ceil(side / 16)), // assumption
    ...wse3Tile,
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

const PRESETS: ReadonlyMap<string, FabricSpec> = new Map(
  [wse2, wse3, ...[4, 8, 16, 32, 64, 128, 256, 320].map(mini)].map(
    (s) => [s.name, deepFreeze(s)] as const,
  ),
);

/** Names of the fabric presets, in a stable order (full wafers first, then small meshes by size). */
export function listFabricPresets(): string[] {
  return [...PRESETS.keys()];
}

/** A frozen preset, or undefined when there is none of that name (index.ts turns that into an InputError). */
export function findFabricPreset(name: string): FabricSpec | undefined {
  return PRESETS.get(name);
}
