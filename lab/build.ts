// Building the lab's static site (Node side): esbuild bundles lab/main.ts and lab/worker.ts for the browser — a
// Node built-in anywhere in what they import fails the build — then the page, its stylesheet, and node-runs.json:
// `wafer run`'s results for the page's default runs, which the page shows beside its own run of the same seed.
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync, renameSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { InputError } from '../fabric/errors.js';
import { executeRun } from '../src/wafer/runCommand.js';
import { REPO_ROOT } from '../src/workers/modules.js';
import { runCommandLine, runMaxSeq, DEFAULT_STATE, type LabState } from './state.js';
import type { NodeRun } from './render.js';

// The repository root, whether this runs from lab/ or from its JavaScript under dist/node/lab/.
export { REPO_ROOT };
export const LAB_SOURCE = join(REPO_ROOT, 'lab');
/** Where `wafer lab` keeps its build (gitignored). */
export const LAB_CACHE = join(REPO_ROOT, 'dist', 'lab');
/** The file that marks a folder as a lab build, so --out may replace it (and nothing else that is not empty). */
export const LAB_MARKER = '.wafer-lab';
/** Folders whose sources go into the bundle: a newer file in any of them makes the cached build stale. */
const SOURCE_DIRS = ['lab', 'src', 'fabric', 'compiler', 'kernels'];

/** The runs node-runs.json records: the page's default run, and the same with the MoE toy. */
export const NODE_RUN_STATES: readonly LabState[] = [DEFAULT_STATE, { ...DEFAULT_STATE, runModel: 'toy-moe' }];

/** The esbuild options of the two bundles, also what test/unit/lab/browserBuild.test.ts builds. */
export function bundleOptions(outdir: string): esbuild.BuildOptions {
  return {
    entryPoints: { main: join(LAB_SOURCE, 'main.ts'), worker: join(LAB_SOURCE, 'worker.ts') },
    outdir,
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    minify: true,
    // Class names survive minifying: gpu.js' backend is named after its kernel class (kernels/gpujs.ts).
    keepNames: true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'silent',
    plugins: [
      {
        // src/io/atomicWrite reads files by path (src/study/compare.ts reads spec files): the page's stand-in refuses kindly.
        name: 'wafer-lab-shims',
        setup(b) {
          b.onResolve({ filter: /\/io\/atomicWrite\.js$/ }, () => ({ path: join(LAB_SOURCE, 'shims', 'atomicWrite.ts') }));
        },
      },
    ],
  };
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && /\.(ts|html|css|mjs|wat)$/.test(e.name)) newest = Math.max(newest, statSync(join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

/** Whether `dir` holds a lab build at least as new as every source file. */
export function isFresh(dir: string): boolean {
  const marker = join(dir, LAB_MARKER);
  if (!existsSync(marker)) return false;
  const built = statSync(marker).mtimeMs;
  return SOURCE_DIRS.every((d) => newestMtime(join(REPO_ROOT, d)) <= built);
}

/** Whether `dir` may be written: absent, empty, or a previous lab build (house rule: never overwrite a user's files). */
export function assertLabOutput(dir: string, option = '--out'): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new InputError('not a directory', `${option} ${dir}`, 'give a directory for the site (absent, empty, or a previous wafer lab output)');
  if (readdirSync(dir).length > 0 && !existsSync(join(dir, LAB_MARKER))) {
    throw new InputError('the directory is not empty and is not a previous wafer lab output', `${option} ${dir}`, 'choose an empty or new directory');
  }
}

async function nodeRuns(states: readonly LabState[], onRun?: (command: string) => void): Promise<NodeRun[]> {
  const runs: NodeRun[] = [];
  for (const s of states) {
    const command = runCommandLine(s);
    onRun?.(command);
    const options = { model: s.runModel, fabric: s.mesh, dtype: s.runDtype, faultDensity: String(s.density), seed: String(s.seed), repair: s.repair, maxSeq: String(runMaxSeq(s)), ...(s.clusterAlpha > 0 ? { clustered: String(s.clusterAlpha) } : {}) };
    const r = await executeRun({ options, prompt: s.prompt.split(',').map(Number), tokens: s.tokens, workers: 0, baseline: false });
    runs.push({ command, tokens: r.tokens, stepCycles: r.stepCycles, decodeCyclesPerToken: r.decodeCyclesPerToken });
  }
  return runs;
}

/**
 * Builds the site into `dir` (absent, empty, or a previous build — assertLabOutput): everything is written into a
 * temporary folder beside it first, which then replaces `dir`, so a failed build leaves `dir` as it was. `runs`: the
 * configurations whose `wafer run` results node-runs.json records (default NODE_RUN_STATES).
 */
export async function buildLab(dir: string, opts: { onStep?: (what: string) => void; runs?: readonly LabState[] } = {}): Promise<{ dir: string; files: string[]; bytes: number }> {
  assertLabOutput(dir);
  const target = resolve(dir);
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true });
  try {
    opts.onStep?.('bundling the page and its worker (esbuild)');
    const r = await esbuild.build(bundleOptions(tmp)).catch((e: { errors?: esbuild.Message[] }) => {
      throw new Error(`the lab bundle failed: ${(e.errors ?? []).map((m) => `${m.location?.file ?? ''}:${m.location?.line ?? ''} ${m.text}`).join('; ')}`);
    });
    if (r.errors.length) throw new Error(`the lab bundle failed: ${r.errors.map((m) => m.text).join('; ')}`);
    for (const f of ['index.html', 'lab.css']) cpSync(join(LAB_SOURCE, f), join(tmp, f));
    writeFileSync(join(tmp, 'node-runs.json'), JSON.stringify(await nodeRuns(opts.runs ?? NODE_RUN_STATES, (c) => opts.onStep?.(`recording ${c}`)), null, 1) + '\n');
    writeFileSync(join(tmp, LAB_MARKER), 'built by `wafer lab`; this folder may be replaced by the next build\n');
    if (existsSync(target)) rmSync(target, { recursive: true });
    mkdirSync(dirname(target), { recursive: true });
    renameSync(tmp, target);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const files = readdirSync(target).filter((f) => f !== LAB_MARKER).sort();
  return { dir: target, files, bytes: files.reduce((s, f) => s + readFileSync(join(target, f)).byteLength, 0) };
}
