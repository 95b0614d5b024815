// `npm run fuzz`: the long fuzzing run of issue 15. (1) Every parser target of test/fuzz/targets.ts on 10,000 seeded
// inputs. (2) 300 seeded command lines with hostile option values and mutated input files, run as real processes (two
// at a time), each under /usr/bin/time for its wall time and peak memory: an exit code other than 0 or 2 is a crash, a
// run past 60 s a hang. (3) Issue 15's reproducers, timed and measured the same way. Writes bench/results/fuzz.md and
// exits 1 if anything crashed or hung.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { TARGETS, fuzzTarget, mutated, numberText, type FuzzCounts } from '../test/fuzz/targets.js';
import { REPRODUCERS, prepareReproducer } from '../test/unit/src/cli/reproducers.js';
import { getFabricPreset } from '../fabric/spec/index.js';
import { writeFileAtomic } from '../src/io/atomicWrite.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(REPO, 'bin/wafer.mjs');
const PARSER_RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const CLI_CASES = Number(process.env.FUZZ_CLI_CASES ?? 300);
const HANG_MS = 60_000;
const SEED = 15;
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

interface CliOutcome {
  args: string[];
  code: number | null;
  wallS: number;
  rssMb: number | null;
  /** User + system CPU seconds (what the run costs on an idle machine; wall time includes waiting for a core). */
  cpuS: number | null;
  hung: boolean;
  errorLines: number;
  stderr: string;
}

function spawnWafer(args: string[], cwd: string): Promise<CliOutcome> {
  const stats = join(cwd, '.time');
  const [cmd, argv] = TIME ? [TIME, ['-f', '%e %M %U %S', '-o', stats, process.execPath, BIN, ...args]] : [process.execPath, [BIN, ...args]];
  const t0 = performance.now();
  return new Promise((done) => {
    execFile(cmd, argv, { cwd, timeout: HANG_MS, killSignal: 'SIGKILL', maxBuffer: 1 << 26 }, (error, _stdout, stderr) => {
      const hung = error !== null && (error as { killed?: boolean }).killed === true;
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      let wallS = (performance.now() - t0) / 1000;
      let rssMb: number | null = null;
      let cpuS: number | null = null;
      if (TIME && existsSync(stats)) {
        const last = readFileSync(stats, 'utf8').trim().split('\n').at(-1)!.split(' ');
        wallS = Number(last[0]);
        rssMb = Number(last[1]) / 1024;
        cpuS = Number(last[2]) + Number(last[3]);
        rmSync(stats);
      }
      done({ args, code: hung ? null : code, wallS, rssMb, cpuS, hung, errorLines: stderr.split('\n').filter((l) => l.startsWith('error: ')).length, stderr });
    });
  });
}

async function pool<T, R>(items: readonly T[], width: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return out;
}

/** One seeded command line: a command with hostile option values, or a mutated input file. */
function cliCases(n: number): { args: string[]; file?: unknown }[] {
  const v = numberText.map((s) => (s.length > 200 ? s.slice(0, 200) : s)).filter((s) => !s.startsWith('-') || /^-\d/.test(s));
  const small = fc.oneof(v, fc.integer({ min: 1, max: 64 }).map(String));
  const guards = ['--max-work', '2e7', '--max-seconds', '20'];
  const templates: fc.Arbitrary<{ args: string[]; file?: unknown }>[] = [
    fc.tuple(fc.oneof(fc.tuple(small, small).map(([a, b]) => `${a}x${b}`), v), small, small, fc.constantFrom('uniform', 'transpose', 'hotspot', 'bogus')).map(([mesh, rate, cycles, pattern]) => ({ args: ['noc', '--mesh', mesh, '--rate', rate, '--cycles', cycles, '--warmup', '10', '--pattern', pattern] })),
    fc.tuple(fc.constantFrom('mini-8', 'mini-16', 'nope'), v, v).map(([fabric, density, seed]) => ({ args: ['faults', '--fabric', fabric, '--density', density, '--seed', seed] })),
    fc.tuple(fc.constantFrom('toy-dense', 'toy-moe', 'llama-3.1-8b', 'nope'), v, small, small).map(([model, context, batch, prompt]) => ({ args: ['project', '--model', model, '--fabric', 'mini-64', '--context', context, '--batch', batch, '--prompt-len', prompt] })),
    fc.tuple(fc.constantFrom('toy-dense', 'llama-3.1-8b'), small, small, v).map(([model, gpus, batch, context]) => ({ args: ['gpu', '--model', model, '--gpus', gpus, '--batch', batch, '--context', context] })),
    fc.tuple(small, v, v).map(([maxSeq, spread, density]) => ({ args: ['compile', '--model', 'toy-dense', '--fabric', 'mini-64', '--max-seq', maxSeq, '--spread', spread, '--fault-density', density] })),
    fc.tuple(v, fc.integer({ min: 0, max: 4 }).map(String), v).map(([prompt, tokens, seed]) => ({ args: ['generate', '--model', 'toy-dense', '--prompt', prompt, '--tokens', tokens, '--seed', seed] })),
    fc.tuple(v, v, v).map(([mem, work, secs]) => ({ args: ['--max-memory-mb', mem, '--max-work', work, '--max-seconds', secs, 'faults', '--fabric', 'mini-8', '--density', '0.1'] })),
    mutated({ ...getFabricPreset('mini-16') }).map((file) => ({ args: ['noc', '--mesh', '8x8', '--rate', '0.05', '--cycles', '200', '--warmup', '10', '--fabric', '@/in.json'], file })),
    mutated({ width: 8, height: 8, deadTiles: [[1, 1]], deadCores: [[2, 2]], deadLinks: [[3, 3, 'E']] }).map((file) => ({ args: ['faults', '--fabric', 'mini-8', '--map', '@/in.json'], file })),
    mutated({ model_type: 'llama', hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 128, vocab_size: 64 }).map((file) => ({ args: ['model', 'show', '@/in.json'], file })),
  ];
  const cases = fc.sample(fc.oneof(...templates), { numRuns: n, seed: SEED });
  return cases.map((c) => ({ ...c, args: [...guards, ...c.args] }));
}

function row(cells: (string | number)[]): string {
  return `| ${cells.join(' | ')} |`;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const parserRows: [string, FuzzCounts][] = TARGETS.map((t) => {
    process.stderr.write(`fuzz ${t.name} (${PARSER_RUNS} inputs)\n`);
    return [t.name, fuzzTarget(t, PARSER_RUNS, SEED)];
  });
  const root = mkdtempSync(join(tmpdir(), 'wafer-fuzz-'));
  const cases = cliCases(CLI_CASES);
  process.stderr.write(`fuzz: ${cases.length} command lines, 2 at a time\n`);
  const cli = await pool(cases, 2, async (c, i) => {
    const dir = mkdtempSync(join(root, 'c-'));
    if (c.file !== undefined) writeFileSync(join(dir, 'in.json'), JSON.stringify(c.file) ?? 'null');
    const out = await spawnWafer(c.args.map((a) => (a.startsWith('@') ? dir + a.slice(1) : a)), dir);
    if ((i + 1) % 25 === 0) process.stderr.write(`  ${i + 1}/${cases.length}\n`);
    return out;
  });
  process.stderr.write(`fuzz: ${REPRODUCERS.length} reproducers\n`);
  const repro = await pool(REPRODUCERS, 2, async (r) => {
    const dir = mkdtempSync(join(root, 'r-'));
    const args = prepareReproducer(r, dir, (p) => mkdirSync(p, { recursive: true }));
    return { r, out: await spawnWafer(args, dir) };
  });
  rmSync(root, { recursive: true, force: true });

  const crashed = cli.filter((o) => !o.hung && o.code !== 0 && o.code !== 2);
  const hung = cli.filter((o) => o.hung);
  const badErrors = cli.filter((o) => o.code === 2 && o.errorLines !== 1);
  const codes = new Map<string, number>();
  for (const o of cli) codes.set(String(o.code), (codes.get(String(o.code)) ?? 0) + 1);
  const maxRss = Math.max(...cli.map((o) => o.rssMb ?? 0));
  const maxWall = Math.max(...cli.map((o) => o.wallS));
  const parserFailures = parserRows.reduce((a, [, c]) => a + c.crashes + c.slow, 0);
  const reproFailures = repro.filter(({ r, out }) => out.code !== 2 || out.errorLines !== 1 || !r.message.test(out.stderr));

  const lines = [
    '# Fuzzing (issue 15)',
    '',
    `Generated by \`npm run fuzz\` (scripts/fuzz.ts), seed ${SEED}, on ${new Date().toISOString().slice(0, 10)}; ${((performance.now() - t0) / 1000).toFixed(0)} s in all.`,
    'A parser input passes when it gives a value or an InputError (one `error:` line at the CLI) within 1 s; a command line passes when it exits 0 or 2 within 60 s.',
    '',
    '## Parsers',
    '',
    row(['parser', 'inputs', 'values', 'input errors', 'crashes', 'over 1 s']),
    row(['---', '---:', '---:', '---:', '---:', '---:']),
    ...parserRows.map(([name, c]) => row([name, c.inputs, c.values, c.inputErrors, c.crashes, c.slow])),
    ...parserRows.filter(([, c]) => c.example).map(([name, c]) => `- ${name}: ${c.example}`),
    '',
    '## Command lines',
    '',
    `${cli.length} command lines (hostile option values and mutated fabric, fault-map and config files, each with \`--max-work 2e7 --max-seconds 20\`), run as processes two at a time:`,
    '',
    row(['exit code', 'count']),
    row(['---', '---:']),
    ...[...codes.entries()].sort().map(([c, n]) => row([c === 'null' ? 'killed (hang)' : c, n])),
    '',
    `Crashes (exit other than 0 and 2): ${crashed.length}. Hangs (over 60 s): ${hung.length}. Exit 2 without exactly one \`error:\` line: ${badErrors.length}.`,
    `Slowest: ${maxWall.toFixed(1)} s wall, ${Math.max(...cli.map((o) => o.cpuS ?? 0)).toFixed(1)} s CPU; largest peak RSS: ${TIME ? `${maxRss.toFixed(0)} MB` : 'not measured (/usr/bin/time absent)'}.`,
    ...[...crashed, ...hung, ...badErrors].slice(0, 10).map((o) => `- \`wafer ${o.args.join(' ').slice(0, 200)}\` -> ${o.hung ? 'hang' : `exit ${o.code}`}: ${o.stderr.split('\n')[0].slice(0, 200)}`),
    '',
    '## Issue 15 reproducers',
    '',
    'Wall time includes waiting for a core on the machine that ran this (shared); CPU time is user + system.',
    '',
    row(['reproducer', 'exit', 'wall s', 'CPU s', 'peak RSS MB', 'message']),
    row(['---', '---:', '---:', '---:', '---:', '---']),
    ...repro.map(({ r, out }) => row([r.name, String(out.code), out.wallS.toFixed(2), out.cpuS === null ? '-' : out.cpuS.toFixed(2), out.rssMb === null ? '-' : out.rssMb.toFixed(0), out.stderr.split('\n')[0].replace(/\|/g, '\\|').replace(new RegExp(root, 'g'), 'DIR').slice(0, 160)])),
    '',
    `Reproducers failing (not exit 2 with one matching \`error:\` line): ${reproFailures.length}.`,
    '',
  ];
  writeFileAtomic(join(REPO, 'bench/results/fuzz.md'), lines.join('\n'), { createParents: true });
  process.stderr.write(`wrote bench/results/fuzz.md: parser failures ${parserFailures}, CLI crashes ${crashed.length}, hangs ${hung.length}, reproducer failures ${reproFailures.length}\n`);
  if (parserFailures + crashed.length + hung.length + reproFailures.length > 0) process.exitCode = 1;
}

await main();
