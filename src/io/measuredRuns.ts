// The measured GPU serving runs the GPU emulator is calibrated on: where the project's copy lives and how a file of
// them is read (used by `wafer calibrate gpu` and `wafer bench gpu-accuracy`).
import { join } from 'node:path';
import { checkCoverage } from '../../compiler/gpu/calibrate.js';
import { parseMeasuredCsv, type MeasuredRun } from '../../compiler/gpu/measured.js';
import { readUserFile } from './atomicWrite.js';
import { REPO_ROOT } from '../workers/modules.js';

/** The measured runs shipped with the project. */
export const DEFAULT_GPU_DATA = join(REPO_ROOT, 'data', 'gpu-measured', 'nim-llama3.csv');

/** Reads and validates a measured-runs file (and that it can fit every parameter it touches). */
export function loadMeasuredRuns(path: string, option = '--data'): MeasuredRun[] {
  const text = readUserFile(path, option).toString('utf8');
  const runs = parseMeasuredCsv(text, path);
  checkCoverage(runs, path);
  return runs;
}
