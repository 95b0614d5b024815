// `wafer demo`: the whole story in one command, on built-in defaults (src/study/demo.ts computes it): a toy MoE run
// cycle by cycle on a small faulty wafer and on the H100 emulator, and the real-size memory wall of every model
// preset on a full WSE-3 and on GPUs — a side-by-side table here, the same records in --json and in the HTML report.
import { existsSync, readFileSync } from 'node:fs';
import { Command } from 'commander';
import { InputError } from '../../fabric/errors.js';
import { writeFileAtomic } from '../io/atomicWrite.js';
import { printJson, printText, progress } from '../io/output.js';
import { parseIntOption } from '../io/parse.js';
import { reportHtml } from '../report/html.js';
import type { CompareRow } from '../study/compare.js';
import { DEMO, runDemo, type DemoData } from '../study/demo.js';
import { defaultProjectionWorkers } from '../study/projectPool.js';
import { describeSetting } from '../study/setting.js';
import { action } from './action.js';


type DemoResult = DemoData & { report: string };

/** A report this command may replace: absent, written by `wafer report`/`wafer demo` before (its title says so), or --force. */
export function assertReportWritable(path: string, force: boolean): void {
  if (force || !existsSync(path)) return;
  const head = readFileSync(path).subarray(0, 1024).toString('utf8');
  if (!head.includes('<title>wafer report:')) throw new InputError(`file exists and was not written by wafer: ${path}`, '--out', 'pass --force to overwrite it, or choose another path with --out');
}

const f0 = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });

/** "memory 92%, launch 8%": the shares of a token's time of at least 5%. */
function shares(s: CompareRow['tokenTimeSplit']): string {
  if (!s) return '';
  const names: [keyof typeof s, string][] = [['compute', 'compute'], ['memory', 'memory'], ['communication', 'comm'], ['other', 'other']];
  return names.filter(([k]) => s[k] >= 0.05).map(([k, n]) => `${n} ${(100 * s[k]).toFixed(0)}%`).join(', ');
}

function realCell(r: DemoResult, fabric: string): string {
  const row = r.real.rows.find((x) => x.fabric === fabric && x.batch === 1);
  if (!row || row.decodeTokensPerSecond === null) return `not available${row?.note ? ` (${row.note})` : ''}`;
  const n = row.gpus ?? row.wafers ?? 1;
  return `${f0(row.decodeTokensPerSecond)} on ${n} ${fabric} (${shares(row.tokenTimeSplit)})`;
}

export function formatDemo(r: DemoResult): string {
  const w = r.toy.wafer;
  const g = r.toy.gpu;
  const rows: [string, string, string][] = [
    ['', `wafer (${w.fabric})`, `GPU (${g.gpu} emulator)`],
    [`${r.toy.model} tokens`, w.tokens.join(','), g.tokens.join(',')],
    [`${r.toy.model} tokens/s`, `${f0(w.point.decodeTokensPerSecond)} (${f0(w.decodeCyclesPerToken)} cycles)`, `${f0(g.point.decodeTokensPerSecond)} (launch ${(100 * g.launchShare).toFixed(0)}%)`],
    [`${r.real.model} tokens/s`, realCell(r, DEMO.realFabrics[0]), realCell(r, DEMO.gpu)],
  ];
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((row) => row[c].length)));
  const lines = rows.map((row) => row.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd());
  lines.splice(1, 0, widths.map((n) => '-'.repeat(n)).join('  '));
  lines.push('');
  lines.push(`${w.tilesUsed} tiles used on ${w.fabric}, ${w.deadTiles} defective; every token matched the reference forward pass${g.sameTokens ? ', and the GPU emulator produced the same tokens' : ''}.`);
  if (w.faultCost) lines.push(`The faults cost ${w.faultCost.extraCyclesPerToken >= 0 ? '+' : ''}${f0(w.faultCost.extraCyclesPerToken)} cycles per token against the fault-free wafer (${f0(w.faultCost.faultFreeDecodeCyclesPerToken)}).`);
  lines.push(`toy rows: wafer ${describeSetting(w.point.setting)}; GPU ${describeSetting(g.point.setting)}.`);
  const realRow = r.real.rows.find((x) => x.fabric === DEMO.realFabrics[0] && x.setting);
  if (realRow?.setting) lines.push(`${r.real.model} row: ${describeSetting(realRow.setting)} (the report's memory wall draws every model preset the same way).`);
  lines.push(`done in ${r.seconds.toFixed(1)} s; report written to ${r.report}`);
  return lines.join('\n');
}

export function register(program: Command): void {
  const cmd = new Command('demo')
    .description('the whole story in a minute: a toy MoE on a small faulty wafer, run cycle by cycle, against an H100, and the real-size memory wall')
    .option('--out <file>', 'where to write the HTML report', 'wafer-report.html')
    .option('--force', 'overwrite --out even if wafer did not write it', false)
    .option('--quick', `project only ${DEMO.realModel} at real size (the default; the memory wall then shows the table's points)`, false)
    // The sweep is opt-in: with every stage coloured, the larger presets' projections take minutes and several GB each.
    .option('--all-presets', 'project every model preset at real size for the memory wall (minutes, several GB per worker)', false)
    .option('--workers <W>', 'worker threads for the real-size projections (0 = one after another on the main thread)', String(defaultProjectionWorkers()))
    .addHelpText('after', '\nExample:\n  npx wafer demo\n  npx wafer demo --all-presets --json --out /tmp/report.html');
  action<{ out: string; force: boolean; workers: string; quick: boolean; allPresets: boolean }>(cmd, async (opts, g) => {
    const workers = parseIntOption(opts.workers, '--workers', 0);
    if (workers > 64) throw new InputError(`${workers} workers`, '--workers', 'give at most 64');
    assertReportWritable(opts.out, opts.force);
    const say = (line: string) => (g.json || g.quiet ? undefined : process.stderr.write(`${line}\n`));
    const bar = progress(g, 'projections');
    const { data, report } = await runDemo({ workers, quick: opts.quick || !opts.allPresets, say, onProjection: (d, t) => bar.update(d, t) });
    bar.end();
    writeFileAtomic(opts.out, reportHtml(report), { option: '--out' });
    const result: DemoResult = { ...data, report: opts.out };
    if (g.json) printJson(result);
    else printText(formatDemo(result));
  });
  program.addCommand(cmd);
}
