// A sweep file read, checked and expanded into keyed points: everything the file names is checked here, before any
// work starts (presets, outputs, grids), with the path inside the file in each message; the number of points is
// bounded before they are built.
import { createHash } from 'node:crypto';
import { findPreset } from '../../compiler/model/presets.js';
import { InputError } from '../../fabric/errors.js';
import { listGpuPresets } from '../../fabric/gpu/spec.js';
import { parseFabricSpec } from '../../fabric/spec/index.js';
import { findFabricPreset, listFabricPresets } from '../../fabric/spec/presets.js';
import { readUserFile } from '../io/atomicWrite.js';
import { canonicalJson, expandPoints, pointCount, type SweepPoint } from './points.js';
import { DEFAULT_OUTPUTS, OUTPUTS, gridOf } from './runPoint.js';
import { DEFAULT_MAX_POINTS, parseSweepText, type Study, type SweepFile } from './schema.js';
import { SWEEP_FORMAT } from './version.js';

export interface KeyedPoint extends SweepPoint {
  key: string;
}

export interface SweepPlan {
  file: SweepFile;
  source: string;
  points: KeyedPoint[];
}

/** The point's key: a hash of the record format, its kind, its complete parameters and the outputs it keeps. */
export function pointKey(point: Pick<SweepPoint, 'kind' | 'params' | 'outputs'>): string {
  return createHash('sha256').update(canonicalJson({ format: SWEEP_FORMAT, kind: point.kind, params: point.params, outputs: point.outputs })).digest('hex').slice(0, 16);
}

function checkList(values: string[] | undefined, known: (v: string) => boolean, where: string, fix: string, what: string): void {
  values?.forEach((v, i) => {
    if (!known(v)) throw new InputError(`unknown ${what} "${v}"`, `${where}.${i}`, fix);
  });
}

/** Each fabric override through the fabric spec's own checks and bounds, on every preset it applies to. */
function checkOverrides(a: Record<string, unknown>, where: string): void {
  for (const field of ['sramBytesPerTile', 'clockHz', 'simdWidth'] as const) {
    (a[field] as unknown[] | undefined)?.forEach((value, i) => {
      for (const f of (a.fabric as string[] | undefined) ?? []) {
        const base = findFabricPreset(f)!;
        const merged = field === 'simdWidth' ? { ...base, simdWidth: { ...base.simdWidth, ...(value as object) } } : { ...base, [field]: value };
        parseFabricSpec(merged, `${where}.axes.${field}.${i} (on ${f})`);
      }
    });
  }
}

/** What the schema cannot know: presets that exist, outputs the kind has, grids within their fabrics. */
function checkStudy(study: Study, where: string): void {
  const a = study.axes as Record<string, unknown>;
  const fabrics = listFabricPresets();
  checkList(a.fabric as string[] | undefined, (v) => findFabricPreset(v) !== undefined, `${where}.axes.fabric`, `use one of ${fabrics.join(', ')}`, 'fabric preset');
  if (study.run === 'gpu') {
    const gpus = listGpuPresets().map((g) => g.name);
    checkList(study.axes.gpu, (v) => gpus.includes(v), `${where}.axes.gpu`, `use one of ${gpus.join(', ')}`, 'GPU preset');
  }
  if ('model' in study.axes) {
    const needWeights = study.run === 'mesh';
    checkList(study.axes.model, (v) => findPreset(v) !== undefined && (!needWeights || findPreset(v)!.runnable), `${where}.axes.model`, needWeights ? 'a mesh run needs a runnable preset (toy-dense, toy-moe, …)' : 'use a model preset (wafer model list)', needWeights ? 'runnable model preset' : 'model preset');
  }
  if (study.run === 'project' && study.axes.grid) {
    study.axes.grid.forEach((g, i) => {
      const { width, height } = gridOf(g);
      for (const f of study.axes.fabric) {
        const spec = findFabricPreset(f)!;
        if (width < 1 || height < 1 || width > spec.widthTiles || height > spec.heightTiles) {
          throw new InputError(`grid ${g} is not within ${f}'s ${spec.widthTiles}x${spec.heightTiles}`, `${where}.axes.grid.${i}`, `give at least 1x1 and at most ${spec.widthTiles}x${spec.heightTiles}`);
        }
      }
    });
  } else if (a.grid) {
    (a.grid as string[]).forEach((g, i) => {
      const { width, height } = gridOf(g);
      if (width < 1 || height < 1 || width * height > 4096 * 4096) throw new InputError(`grid ${g} has no tiles or too many`, `${where}.axes.grid.${i}`, 'give between 1x1 and 4096x4096 tiles');
    });
  }
  checkOverrides(a, where);
  const catalogue = Object.keys(OUTPUTS[study.run]);
  checkList(study.outputs, (v) => catalogue.includes(v), `${where}.outputs`, `a ${study.run} point keeps ${catalogue.join(', ')}`, 'output');
}

/** Checks a parsed sweep file and expands it; `maxPoints` bounds the expansion (the --max-points flag raises it). */
export function planSweep(file: SweepFile, source: string, maxPoints = DEFAULT_MAX_POINTS): SweepPlan {
  file.studies.forEach((s, i) => checkStudy(s, `${source}: studies.${i}`));
  const n = pointCount(file);
  if (n > maxPoints) throw new InputError(`the sweep has ${n.toLocaleString('en-US')} points, more than ${maxPoints.toLocaleString('en-US')}`, source, `shorten its axes, or pass --max-points ${n}`);
  const points = expandPoints(file, (s) => s.outputs ?? DEFAULT_OUTPUTS[s.run]).map((p) => ({ ...p, key: pointKey(p) }));
  return { file, source, points: dedupe(points) };
}

/** Two studies may name the same point: it is one point (one key, one record). */
function dedupe(points: KeyedPoint[]): KeyedPoint[] {
  const seen = new Set<string>();
  return points.filter((p) => !seen.has(p.key) && seen.add(p.key));
}

/** Reads, parses and plans the sweep file at `path`. */
export function loadSweep(path: string, maxPoints?: number): SweepPlan {
  const text = readUserFile(path, 'sweep file').toString('utf8');
  return planSweep(parseSweepText(text, path), path, maxPoints);
}
