// `wafer report`: one self-contained HTML page about a model on a wafer — the wafer map (roles, layers, dead tiles,
// the routes of one colour), a heatmap of tile busy cycles from a mesh run, the SRAM-fill histogram, the memory-wall
// chart of `wafer compare`, and the NoC latency–throughput curve of `wafer noc --sweep --json` when given.
import { availableParallelism } from 'node:os';
import { Command } from 'commander';
import { InputError } from '../../fabric/errors.js';
import { assertWritable, readUserJson, writeFileAtomic } from '../io/atomicWrite.js';
import { printJson, printText, progress } from '../io/output.js';
import { MAX_RUN_TOKENS, parseIntOption, parseTokenList } from '../io/parse.js';
import { compareFabrics, projectionJobs, resolveFabricArg, type CompareOptions, type FabricArg, type WallMark } from '../study/compare.js';
import { reportHtml } from '../report/html.js';
import { runWithTileStats } from '../study/meshStats.js';
import { defaultProjectionWorkers, runProjections } from '../study/projectPool.js';
import { buildReportData, meshRunPoint, parseNocSweep, parseReportData, type ReportData } from '../study/reportData.js';
import { faultSettingOf } from '../study/setting.js';
import { prepareCompile, type CompileCliOptions } from '../wafer/compileJob.js';
import { action } from './action.js';
import { addCompileOptions } from './compile.js';

export const DEFAULT_REPORT_PATH = 'wafer-report.html';

interface Options extends Partial<CompileCliOptions> {
  from?: string;
  noc?: string;
  prompt: string;
  tokens: string;
  workers: string;
  compare: boolean;
  compareFabrics: string;
  routeColour?: string;
  out?: string;
  force?: boolean;
}

/** Compiles and (when the model has weights) runs the job on the mesh, then gathers the report's data. */
export async function reportDataFromRun(o: Options & CompileCliOptions, onStep?: (done: number, total: number) => void): Promise<ReportData> {
  const job = prepareCompile(o, false);
  let run = null;
  const marks: WallMark[] = [];
  const faults = faultSettingOf(o, job.result.report.deadTiles);
  if (job.weights) {
    const prompt = parseTokenList(o.prompt, '--prompt', job.config.vocabSize);
    const tokens = parseIntOption(o.tokens, '--tokens', 1, MAX_RUN_TOKENS);
    const workers = parseIntOption(o.workers, '--workers', 0, 64);
    if (workers > 64) throw new InputError(`${workers} workers`, '--workers', 'give at most 64');
    const r = await runWithTileStats(job, prompt, tokens, { workers, onStep });
    run = { result: r.run, stats: r.stats, prompt };
    marks.push({ label: `this run: ${job.config.name} on ${job.spec.name}`, fabric: job.spec.name, kind: 'wafer', point: meshRunPoint(job, r.run, prompt, faults) });
  }
  let compare = null;
  if (o.compare) {
    const own: FabricArg = { kind: 'wafer', name: job.spec.name, spec: job.spec };
    const others = o.compareFabrics
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '' && s !== job.spec.name)
      .map((s) => resolveFabricArg(s, '--compare-fabrics'));
    const co: CompareOptions = { model: job.config, fabrics: [own, ...others], batches: [1], dtype: job.dtype === 'int8' ? 'int8' : 'bf16', promptLength: 512, contextLength: 512 };
    // Full-wafer fabrics project every model preset: side by side in worker threads (small meshes need none).
    const jobs = projectionJobs(co);
    const projections = jobs.length ? await runProjections(jobs, { workers: defaultProjectionWorkers() }) : undefined;
    compare = compareFabrics({ ...co, projections });
  }
  return buildReportData({ job, run, faults, compare, marks, noc: null });
}

export function register(program: Command): void {
  const cmd = addCompileOptions(new Command('report').description('one self-contained HTML report: wafer map, tile busy heatmap, SRAM fill, memory wall, NoC curve'))
    .option('--from <file>', 'draw the report from this data file (from `wafer report … --json`) instead of running')
    .option('--noc <file>', 'add the NoC latency–throughput curve from `wafer noc --sweep --json` output')
    .option('--prompt <ids>', 'prompt token ids for the mesh run', '1,2,3')
    .option('--tokens <N>', 'tokens to generate in the mesh run', '8')
    .option('--workers <W>', 'worker threads for the numeric work (0 = main thread)', String(Math.min(2, availableParallelism())))
    .option('--compare-fabrics <list>', 'fabrics beside the run\'s own in the memory-wall chart', 'h100,b200')
    .option('--no-compare', 'leave the memory-wall chart out')
    .option('--route-colour <C>', 'draw the routes of this colour on the wafer map (default: the least-used colour carrying ≥ 2% of the link hops)')
    .option('--out <file.html>', 'where to write the report', DEFAULT_REPORT_PATH)
    .option('--force', 'overwrite --out if it exists', false)
    .addHelpText('after', '\nWith --json, stdout carries the report data (save it and draw it again with --from).\n\nExamples:\n  npx wafer report --model toy-moe --fabric mini-64 --fault-density 0.02 --seed 3 --out toy.html\n  npx wafer noc --mesh 16x16 --sweep --json > noc.json && npx wafer report --model toy-dense --fabric mini-64 --noc noc.json\n  npx wafer report --model toy-moe --fabric mini-64 --json > run.json && npx wafer report --from run.json --out again.html');
  // With --from, the model and fabric come from the file: the compile options' --model/--fabric are optional here.
  for (const opt of cmd.options) if (opt.long === '--model' || opt.long === '--fabric') opt.mandatory = false;
  action<Options>(cmd, async (o, g) => {
    const out = o.out ?? DEFAULT_REPORT_PATH;
    assertWritable(out, o.force);
    const routeColour = o.routeColour === undefined ? undefined : parseIntOption(o.routeColour, '--route-colour', 0, 31);
    const noc = o.noc ? parseNocSweep(readUserJson(o.noc, '--noc'), o.noc) : null;
    let data: ReportData;
    if (o.from) {
      if (o.model || o.fabric) throw new InputError('--from and --model/--fabric both given', '--from', 'draw from the file alone, or run with --model and --fabric');
      data = parseReportData(readUserJson(o.from, '--from'), o.from);
    } else {
      if (!o.model) throw new InputError('no model given', '--model', 'give --model and --fabric (as for wafer run), or --from FILE');
      if (!o.fabric) throw new InputError('no fabric given', '--fabric', 'give a fabric preset (mini-64, …) or spec file, or --from FILE');
      const bar = progress(g, 'mesh');
      data = await reportDataFromRun(o as Options & CompileCliOptions, (d, t) => bar.update(d, t));
      bar.end();
    }
    if (noc) data = { ...data, noc };
    if (routeColour !== undefined && !data.tiles.some((t) => t.routes.some(([c]) => c === routeColour))) {
      throw new InputError(`no route uses colour ${routeColour}`, '--route-colour', `use one of ${[...new Set(data.tiles.flatMap((t) => t.routes.map(([c]) => c)))].sort((a, b) => a - b).join(', ')}`);
    }
    writeFileAtomic(out, reportHtml(data, { routeColour }), { force: o.force === true, option: '--out' });
    if (g.json) printJson(data);
    else {
      const r = data.run;
      printText(
        [
          `report of ${data.model} on ${data.fabric} written to ${out}`,
          r ? `  mesh run: ${r.tokensPerSecond.toFixed(0)} tokens/s decode, ${r.totalCycles} cycles, tokens ${r.tokens.join(',')}` : '  no mesh run (the model has no weights): map, SRAM and memory wall only',
          `  sections: wafer map, busy heatmap, SRAM fill${data.compare ? ', memory wall' : ''}${data.noc ? ', NoC curve' : ''}`,
        ].join('\n'),
      );
    }
  });
  program.addCommand(cmd);
}
