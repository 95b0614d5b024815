// `wafer bench project --all-presets`: every real-size model preset projected onto wse3 at context 4096 and 1024,
// each in a fresh process (as one `wafer project` call): the process's CPU seconds (start-up and module loading
// included), the projection's alone, and the peak resident memory. Writes project-speed.json and project-speed.md.
// CPU time is quoted rather than wall time because it depends less on the host's load; the load is quoted beside it.
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomicWrite.js';
import type { ProjectSpeedJob, ProjectSpeedMeasure } from '../workers/projectSpeedChild.js';
import { realSizePresets } from './fabricsBench.js';
import { BUILT, runModuleChild } from '../workers/modules.js';

/** Contexts every preset is projected at: the projection's default and a shorter one. */
export const PROJECT_SPEED_CONTEXTS = [4096, 1024] as const;
const FABRIC = 'wse3';
/** A projection that takes longer than this is reported as such, not waited for. */
const CHILD_TIMEOUT_MS = 20 * 60 * 1000;

export interface ProjectSpeedRow extends ProjectSpeedJob {
  /** null where the child failed (see error). */
  measure: ProjectSpeedMeasure | null;
  error: string | null;
  /** Host load average (1 min) when the child started. */
  loadAverage1m: number;
}

export interface ProjectSpeedReport {
  command: string;
  fabric: string;
  rows: ProjectSpeedRow[];
  host: { cpus: number; loadAverageAtStart1m: number; loadAverageAtEnd1m: number };
}

function measureOne(job: ProjectSpeedJob): { measure: ProjectSpeedMeasure | null; error: string | null } {
  const r = runModuleChild<ProjectSpeedMeasure>('src/workers/projectSpeedChild', job, CHILD_TIMEOUT_MS);
  return { measure: r.value, error: r.error };
}

export function runProjectSpeedBench(opts: { models?: string[]; cpus: number; onProgress?: (line: string) => void }): ProjectSpeedReport {
  const models = opts.models ?? realSizePresets();
  const loadAtStart = loadavg()[0];
  const rows: ProjectSpeedRow[] = [];
  // One at a time: two projections side by side would time each other.
  for (const context of PROJECT_SPEED_CONTEXTS) {
    for (const model of models) {
      const loadAverage1m = loadavg()[0];
      const got = measureOne({ model, fabric: FABRIC, context });
      const m = got.measure;
      opts.onProgress?.(m ? `${model} at context ${context}: ${m.processCpuSeconds.toFixed(2)} CPU-s, projection ${m.projectionCpuSeconds.toFixed(2)} CPU-s, peak ${(m.peakRssBytes / 1e9).toFixed(2)} GB` : `${model} at context ${context}: ${got.error}`);
      rows.push({ model, fabric: FABRIC, context, ...got, loadAverage1m });
    }
  }
  return { command: `npx wafer bench project --all-presets${opts.models ? ` --models ${opts.models.join(',')}` : ''}`, fabric: FABRIC, rows, host: { cpus: opts.cpus, loadAverageAtStart1m: loadAtStart, loadAverageAtEnd1m: loadavg()[0] } };
}

export function formatProjectSpeedBench(r: ProjectSpeedReport): string {
  const lines = [
    `Every real-size preset projected onto ${r.fabric}, each in a fresh process (as one \`wafer project\` call). Command: \`${r.command}\`.`,
    `Host: ${r.host.cpus} CPUs, load average ${r.host.loadAverageAtStart1m.toFixed(1)} at the start and ${r.host.loadAverageAtEnd1m.toFixed(1)} at the end (CPU time depends less on the load than wall time, but a loaded host still slows it: shared caches and cores).`,
    '',
    '| model | context | process CPU s | projection CPU s | projection wall s | peak RSS GB | wafers | colours within budget | tokens/s | load (1 min) |',
    '|---|---:|---:|---:|---:|---:|---:|---|---:|---:|',
  ];
  for (const x of r.rows) {
    const m = x.measure;
    if (!m) lines.push(`| ${x.model} | ${x.context} | failed: ${x.error} | | | | | | | ${x.loadAverage1m.toFixed(1)} |`);
    else lines.push(`| ${x.model} | ${x.context} | ${m.processCpuSeconds.toFixed(2)} | ${m.projectionCpuSeconds.toFixed(2)} | ${m.projectionWallSeconds.toFixed(2)} | ${(m.peakRssBytes / 1e9).toFixed(2)} | ${m.wafers} | ${m.coloursWithinBudget ? 'yes' : 'no'} | ${m.decodeTokensPerSecond.toFixed(1)} | ${x.loadAverage1m.toFixed(1)} |`);
  }
  lines.push('', `Process CPU: start-up, module loading (${BUILT ? 'the JavaScript built into dist/node' : 'TypeScript through tsx'}) and the projection. Context is capped at the model's maximum positions.`);
  return lines.join('\n');
}

export function writeProjectSpeedBench(r: ProjectSpeedReport, dir: string): void {
  writeFileAtomic(join(dir, 'project-speed.json'), JSON.stringify(r, null, 2) + '\n', { option: '--out-dir', createParents: true });
  writeFileAtomic(join(dir, 'project-speed.md'), `# wafer bench project --all-presets\n\n${formatProjectSpeedBench(r)}\n`, { option: '--out-dir', createParents: true });
}
