// The registry of every cost constant that is not a firm published figure: each named (kebab-case), with the wse3
// preset's value, a low and a high plausible value, its unit, where it is cited (a docs/ heading) or why it is
// assumed, and the FabricSpec field that holds it. The engine (fabric/mesh/cost.ts, engine.ts) and the projection
// (compiler/project) read these fields from the spec, so one override (`wafer project --assume NAME=VALUE`,
// applyAssumptions) changes what both charge. `wafer bench sensitivity` projects each at its low and high value.
//
// A new cost constant belongs here: a spec field (spec.costs for the ones with no other home), its entry below, and a
// line in docs/assumptions.md. Firm published figures (the SIMD widths the SDK lists, 24 colours, 48 KiB, 1-cycle
// hops) are cited in docs/hardware.md and are not listed.
import { InputError, inputErrorFromZod, quoteInput } from '../errors.js';
import { fabricSpecSchema, type FabricSpec } from './schema.js';

export interface Assumption {
  /** kebab-case, what `--assume` takes. */
  readonly name: string;
  /** The wse3 preset's value (wse2 and the small meshes share it unless `path` is a SIMD width). */
  readonly default: number;
  /** The lowest and highest values the sources leave plausible. */
  readonly low: number;
  readonly high: number;
  readonly unit: string;
  /** A docs/ heading that cites it ("docs/hardware.md#clock"), or "assumption: <why>". */
  readonly source: string;
  /** The FabricSpec field that holds it, as keys from the spec's root. */
  readonly path: readonly string[];
  /** What reads it: both the mesh engine and the projection, or one of them. */
  readonly readBy: 'engine and projection' | 'engine' | 'projection';
  /** One line: what it is. */
  readonly what: string;
}

const A = (a: Assumption): Assumption => Object.freeze({ ...a, path: Object.freeze([...a.path]) });

/** Every assumption, in a stable order (fabric first, then op costs, then the projection's own). */
export const ASSUMPTIONS: readonly Assumption[] = Object.freeze([
  A({
    name: 'clock-hz',
    default: 1.1e9,
    low: 850e6,
    high: 1.1e9,
    unit: 'Hz',
    source: 'docs/hardware.md#clock',
    path: ['clockHz'],
    readBy: 'engine and projection',
    what: 'core clock: 1.1 GHz maximum (WaferLLM, Hot Chips 34) or the 850 MHz the vendor example code converts cycles at',
  }),
  A({
    name: 'sram-access-bytes',
    default: 8,
    low: 4,
    high: 8,
    unit: 'bytes per access',
    source: 'docs/hardware.md#sram-banks',
    path: ['sramAccessBytes'],
    readBy: 'engine and projection',
    what: 'width of each of the two SRAM reads and one write per cycle: 64-bit (Hot Chips 34) or 32-bit (SDK appendix)',
  }),
  A({
    name: 'f32-fmac-width',
    default: 1,
    low: 1,
    high: 4,
    unit: 'FMACs per cycle',
    source: 'docs/hardware.md#simd-widths',
    path: ['simdWidth', 'f32'],
    readBy: 'engine and projection',
    what: '`@fmacs` (FP32 multiply-add) and FP32 multiplies per cycle: not in the SDK table; as high as `@fadds` (4 on WSE-3) at most',
  }),
  A({
    name: 'int8-mac-width',
    default: 8,
    low: 4,
    high: 16,
    unit: 'MACs per cycle',
    source: 'assumption: no int8 multiply-add is listed; taken as the 16-bit width (WSE-3: 8), half to twice that plausible',
    path: ['simdWidth', 'int8'],
    readBy: 'engine and projection',
    what: 'int8 weight multiply-adds per cycle (on x quantised to int16)',
  }),
  A({
    name: 'ramp-latency-cycles',
    default: 2,
    low: 1,
    high: 4,
    unit: 'cycles',
    source: 'docs/hardware.md#hop-and-ramp-latency',
    path: ['rampLatencyCycles'],
    readBy: 'engine and projection',
    what: 'compute engine to its router, each way (T_R ≈ 2 in Luczynski et al., read through summaries)',
  }),
  A({
    name: 'task-start-cycles',
    default: 4,
    low: 1,
    high: 16,
    unit: 'cycles',
    source: 'assumption: the task picker and setup cost is not published (docs/hardware.md#tasks-and-queues)',
    path: ['taskStartCycles'],
    readBy: 'engine and projection',
    what: 'fixed cycles to start a task',
  }),
  A({
    name: 'queue-depth-wavelets',
    default: 8,
    low: 2,
    high: 32,
    unit: 'wavelets',
    source: 'assumption: hardware queues are only called "small" (docs/hardware.md#tasks-and-queues)',
    path: ['queueDepthWavelets'],
    readBy: 'engine',
    what: 'depth of a per-colour router input queue (back-pressure; the projection models no contention)',
  }),
  A({
    name: 'bypass-latency-cycles',
    default: 1,
    low: 1,
    high: 4,
    unit: 'cycles',
    source: 'assumption: the real bypass penalty is not published (docs/hardware.md#defects-and-redundancy)',
    path: ['bypassLatencyCycles'],
    readBy: 'engine and projection',
    what: 'extra cycles of a remap bypass around a repaired tile (only with remap faults)',
  }),
  A({
    name: 'op-setup-cycles',
    default: 1,
    low: 0,
    high: 8,
    unit: 'cycles',
    source: 'assumption: the setup cost of a DSD operation is not published (docs/hardware.md#tasks-and-queues)',
    path: ['costs', 'opSetupCycles'],
    readBy: 'engine and projection',
    what: 'fixed cycles to set up one op (a DSD descriptor and its loop) before data flows',
  }),
  A({
    name: 'matvec-row-overhead-cycles',
    default: 1,
    low: 0,
    high: 4,
    unit: 'cycles per row',
    source: 'assumption: reducing the SIMD accumulator lanes and writing y[r] is not published',
    path: ['costs', 'matvecRowOverheadCycles'],
    readBy: 'engine and projection',
    what: 'cycles per output row of a matvec beyond its multiply-adds',
  }),
  A({
    name: 'transcendental-cycles',
    default: 8,
    low: 4,
    high: 32,
    unit: 'cycles per element',
    source: 'assumption: no transcendental unit is listed (docs/hardware.md#simd-widths), so a short polynomial of ~8 FMAs',
    path: ['costs', 'transcendentalCycles'],
    readBy: 'engine and projection',
    what: 'cycles per exp, rsqrt, sin/cos or divide',
  }),
  A({
    name: 'send-issue-cycles',
    default: 1,
    low: 1,
    high: 4,
    unit: 'cycles',
    source: 'assumption: handing a fabric-output DSD to the ramp is not published',
    path: ['costs', 'sendIssueCycles'],
    readBy: 'engine and projection',
    what: 'compute-engine cycles to issue a send; the wavelets then flow by themselves',
  }),
  A({
    name: 'inter-wafer-bytes-per-second',
    default: 150e9,
    low: 75e9,
    high: 600e9,
    unit: 'bytes/s',
    source: 'docs/hardware.md#wafer-chip',
    path: ['interWafer', 'bytesPerSecond'],
    readBy: 'projection',
    what: 'link between two wafers of a pipeline: the 12 × 100 GbE system I/O (150 GB/s); half of it if hosts share it, 4× for a faster fabric',
  }),
  A({
    name: 'inter-wafer-latency-seconds',
    default: 2e-6,
    low: 1e-6,
    high: 10e-6,
    unit: 's',
    source: 'assumption: one-way latency through the Ethernet I/O between two systems is not published',
    path: ['interWafer', 'latencySeconds'],
    readBy: 'projection',
    what: 'one-way latency of an inter-wafer link',
  }),
  A({
    name: 'inter-wafer-bytes-per-value',
    default: 2,
    low: 1,
    high: 4,
    unit: 'bytes',
    source: 'assumption: activations cross a wafer boundary as bf16 (fp8 or f32 plausible)',
    path: ['costs', 'interWaferBytesPerValue'],
    readBy: 'projection',
    what: 'bytes per activation value on an inter-wafer link',
  }),
  A({
    name: 'mxfp4-bits-per-weight',
    default: 4.25,
    low: 4.25,
    high: 4.25,
    unit: 'bits',
    source: 'docs/assumptions.md#mxfp4',
    path: ['costs', 'mxfp4BitsPerWeight'],
    readBy: 'projection',
    what: 'MXFP4 routed-expert weights: 4-bit elements and an 8-bit scale per 32 (OCP MX); a format fact, listed so that it can be overridden like the others',
  }),
  A({
    name: 'mxfp4-decode-ops-per-weight',
    default: 2,
    low: 1,
    high: 4,
    unit: '16-bit operations per weight',
    source: 'docs/assumptions.md#mxfp4',
    path: ['costs', 'mxfp4DecodeOpsPerWeight'],
    readBy: 'engine and projection',
    what: 'decoding one MXFP4 weight to bf16 before its multiply (a lookup of the element, an add of the block exponent) at the 16-bit width',
  }),
]);

/** The assumption named `name`, or undefined. */
export function findAssumption(name: string): Assumption | undefined {
  return ASSUMPTIONS.find((a) => a.name === name);
}

/** The value `spec` holds for an assumption. */
export function assumptionValue(spec: FabricSpec, a: Assumption): number {
  let v: unknown = spec;
  for (const key of a.path) v = (v as Record<string, unknown>)[key];
  return v as number;
}

/** A copy of `obj` with the number at `path` replaced. */
function withValue(obj: Record<string, unknown>, path: readonly string[], value: number): Record<string, unknown> {
  const [key, ...rest] = path;
  return { ...obj, [key]: rest.length === 0 ? value : withValue(obj[key] as Record<string, unknown>, rest, value) };
}

export interface AssumptionOverride {
  name: string;
  value: number;
}

/**
 * `spec` with each override applied (later ones win), validated by the fabric schema and frozen. An unknown name or a
 * value the schema refuses is an InputError at `where` (the edge names its flag, e.g. "--assume").
 */
export function applyAssumptions(spec: FabricSpec, overrides: readonly AssumptionOverride[], where = 'assumptions'): FabricSpec {
  if (overrides.length === 0) return spec;
  let next: Record<string, unknown> = spec as unknown as Record<string, unknown>;
  for (const o of overrides) {
    const a = findAssumption(o.name);
    if (!a) throw new InputError(`unknown assumption ${quoteInput(o.name)}`, where, `use one of ${ASSUMPTIONS.map((x) => x.name).join(', ')}`);
    next = withValue(next, a.path, o.value);
    // Checked one at a time, so the message names the assumption that the schema refuses.
    const checked = fabricSpecSchema.safeParse(next);
    if (!checked.success) throw inputErrorFromZod(checked.error, `${where} ${a.name} on ${spec.name}`, undefined, next);
  }
  const d = fabricSpecSchema.parse(next);
  return Object.freeze({ ...d, simdWidth: Object.freeze(d.simdWidth), interWafer: Object.freeze(d.interWafer), costs: Object.freeze(d.costs) });
}

/** An assumption and the value a spec holds for it. */
export interface AssumptionInUse {
  name: string;
  value: number;
  default: number;
  low: number;
  high: number;
  unit: string;
  source: string;
}

/** Every assumption with the value `spec` holds. */
export function assumptionsOf(spec: FabricSpec): AssumptionInUse[] {
  return ASSUMPTIONS.map((a) => ({ name: a.name, value: assumptionValue(spec, a), default: a.default, low: a.low, high: a.high, unit: a.unit, source: a.source }));
}
