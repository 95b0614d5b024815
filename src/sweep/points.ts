// A sweep file expanded into its points: every combination of a study's axes, each axis in a fixed order, every
// absent axis at its default, so a point's parameters are complete and its key (a hash of kind and parameters) names
// the same work wherever and whenever it is computed. No Node built-ins here (the key's hash is in key.ts).
import type { Study, SweepFile, SweepKind } from './schema.js';

export type ParamValue = string | number | boolean | null | number[] | Record<string, number>;
export type Params = Readonly<Record<string, ParamValue>>;

export interface SweepPoint {
  kind: SweepKind;
  /** Index of the study in the file (for labels and outputs; not part of the key). */
  study: number;
  params: Params;
  /** The outputs this point keeps. */
  outputs: readonly string[];
}

/**
 * Every axis of each kind, in the order points vary (the last fastest), with its default where the file leaves it
 * out. The order is fixed here, not taken from the file, so reordering keys in a file changes no point and no key.
 */
export const AXIS_DEFAULTS: Readonly<Record<SweepKind, Readonly<Record<string, ParamValue | undefined>>>> = {
  project: {
    model: undefined,
    fabric: undefined,
    sramBytesPerTile: null,
    clockHz: null,
    grid: null,
    simdWidth: null,
    dtype: 'bf16',
    kvDtype: 'bf16',
    batch: 1,
    context: null,
    promptLength: null,
    wafers: 'auto',
    repair: 'route-around',
    clustered: null,
    faultDensity: 0,
    seed: 0,
  },
  mesh: {
    model: undefined,
    fabric: undefined,
    sramBytesPerTile: null,
    clockHz: null,
    grid: null,
    simdWidth: null,
    dtype: null,
    prompt: [1, 2, 3],
    tokens: 4,
    weightsSeed: 0,
    repair: 'route-around',
    clustered: null,
    faultDensity: 0,
    seed: 0,
  },
  gpu: { model: undefined, gpu: undefined, gpus: 1, dtype: null, batch: 1, context: null, promptLength: null },
  noc: {
    fabric: undefined,
    sramBytesPerTile: null,
    clockHz: null,
    grid: undefined,
    simdWidth: null,
    pattern: 'uniform',
    packetWavelets: 1,
    cycles: 2000,
    warmup: 500,
    vcs: 2,
    rate: undefined,
    seed: 1,
  },
};

/** The values of one axis as a list: `{ from, count }` seeds become the seeds themselves. */
function axisValues(v: unknown): ParamValue[] {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && 'count' in v) {
    const { from, count } = v as { from: number; count: number };
    return Array.from({ length: count }, (_, i) => from + i);
  }
  return v as ParamValue[];
}

/** The axes of a study as [name, values] in the kind's fixed order, defaults filled in. */
export function studyAxes(study: Study): [string, ParamValue[]][] {
  const given = study.axes as Record<string, unknown>;
  return Object.entries(AXIS_DEFAULTS[study.run]).map(([name, fallback]) => {
    const v = given[name];
    if (v === undefined) {
      if (fallback === undefined) throw new Error(`sweep: required axis ${name} passed the schema unset`);
      return [name, [fallback]];
    }
    return [name, axisValues(v)];
  });
}

/** Points of one study: the product of its axes' lengths. */
export function studyPointCount(study: Study): number {
  return studyAxes(study).reduce((n, [, values]) => n * values.length, 1);
}

export function pointCount(file: SweepFile): number {
  return file.studies.reduce((n, s) => n + studyPointCount(s), 0);
}

/** Every point of the file, study by study, the last axis varying fastest. Call pointCount first to bound it. */
export function expandPoints(file: SweepFile, outputsOf: (study: Study) => readonly string[]): SweepPoint[] {
  const points: SweepPoint[] = [];
  file.studies.forEach((study, index) => {
    const axes = studyAxes(study);
    const outputs = outputsOf(study);
    const idx = axes.map(() => 0);
    const total = studyPointCount(study);
    for (let n = 0; n < total; n++) {
      const params: Record<string, ParamValue> = {};
      axes.forEach(([name, values], a) => (params[name] = values[idx[a]]));
      points.push({ kind: study.run, study: index, params: Object.freeze(params), outputs });
      for (let a = axes.length - 1; a >= 0; a--) {
        if (++idx[a] < axes[a][1].length) break;
        idx[a] = 0;
      }
    }
  });
  return points;
}

/** JSON with object keys sorted at every level: the same value always gives the same text (and so the same key). */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
