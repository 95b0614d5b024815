// A child process for `wafer bench project --all-presets`: one projection in a fresh process, as one `wafer project`
// call pays for it — start-up and module loading included — then its CPU time and peak resident memory on stdout
// (one JSON line). argv[2]: the job as JSON.
import { getPreset } from '../../compiler/model/presets.js';
import { projectWafer } from '../../compiler/project/index.js';
import { getFabricPreset } from '../../fabric/spec/index.js';

export interface ProjectSpeedJob {
  model: string;
  fabric: string;
  context: number;
}

export interface ProjectSpeedMeasure {
  /** CPU seconds (user + system) of the whole process: start-up, module loading and the projection. */
  processCpuSeconds: number;
  /** CPU seconds of the projection alone (projectWafer). */
  projectionCpuSeconds: number;
  projectionWallSeconds: number;
  /** Peak resident set of the process, bytes. */
  peakRssBytes: number;
  decodeTokensPerSecond: number;
  wafers: number;
  coloursWithinBudget: boolean;
}

const job = JSON.parse(process.argv[2]) as ProjectSpeedJob;
const cfg = getPreset(job.model);
const spec = getFabricPreset(job.fabric);
const cpu = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;
const c0 = process.cpuUsage();
const t0 = performance.now();
const r = projectWafer(cfg, spec, { context: Math.min(job.context, cfg.maxPositionEmbeddings) });
const measure: ProjectSpeedMeasure = {
  processCpuSeconds: cpu(process.cpuUsage()),
  projectionCpuSeconds: cpu(process.cpuUsage(c0)),
  projectionWallSeconds: (performance.now() - t0) / 1e3,
  peakRssBytes: process.resourceUsage().maxRSS * 1024,
  decodeTokensPerSecond: r.decodeTokensPerSecond,
  wafers: r.wafers,
  coloursWithinBudget: r.coloursWithinBudget,
};
process.stdout.write(JSON.stringify(measure) + '\n');
