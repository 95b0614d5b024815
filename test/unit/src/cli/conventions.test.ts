// The CLI's conventions, held for every command: help with a one-line description and an example,
// --json putting only JSON on stdout, --quiet and --verbose accepted everywhere, exit codes 0 / 2 / 1, and progress
// output only where it belongs. Help texts are read in-process from the registered commands (all of them, cheaply);
// everything else runs the real CLI in an empty directory of its own.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { registerAll } from '../../../../src/commands/index.js';
import { progress } from '../../../../src/io/output.js';
import { REPO, wafer } from './spawnWafer.js';

const root = mkdtempSync(join(tmpdir(), 'wafer-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const TINY = join(REPO, 'test/fixtures/tiny-llama');
const GPU_RUNS = join(REPO, 'test/fixtures/gpu-measured-small.csv');
const fresh = () => mkdtempSync(join(root, 'run-'));

/** Every registered command as [path, command], depth first, without commander's implicit `help`. */
async function allCommands(): Promise<[string, Command][]> {
  const program = new Command('wafer');
  await registerAll(program);
  const out: [string, Command][] = [];
  const walk = (c: Command, path: string) => {
    for (const sub of c.commands) {
      if (sub.name() === 'help') continue;
      out.push([`${path} ${sub.name()}`, sub]);
      walk(sub, `${path} ${sub.name()}`);
    }
  };
  walk(program, 'wafer');
  return out;
}
const COMMANDS = await allCommands();
const TOP = COMMANDS.filter(([p]) => p.split(' ').length === 2);

function helpText(cmd: Command): string {
  let text = '';
  cmd.configureOutput({ writeOut: (s) => (text += s) });
  cmd.outputHelp();
  return text;
}

// Commands whose help still lacks an example; the test fails once one gains it, so the entry is removed then.
const KNOWN_WITHOUT_EXAMPLE = new Set<string>([]);

describe('help', () => {
  it('the commands of issue 7 that exist are registered, and no others', () => {
    const names = TOP.map(([p]) => p.split(' ')[1]);
    expect(names).toEqual(expect.arrayContaining(['model', 'generate', 'compile', 'faults', 'run', 'gpu']));
    for (const n of names) expect(['demo', 'model', 'generate', 'compile', 'faults', 'run', 'gpu', 'calibrate', 'compare', 'project', 'speculate', 'diffuse', 'decode', 'agent', 'sweep', 'lab', 'noc', 'bench', 'report']).toContain(n);
  });

  it.each(COMMANDS)('%s: a one-line description and an example', (path, cmd) => {
    expect(cmd.description()).toMatch(/^[^\n]{10,300}$/);
    const text = helpText(cmd);
    expect(text).toContain(`Usage: ${path}`);
    const hasExample = new RegExp(`\\nExamples?:\\n(  .*\\n)*  npx ${path.replace(/ /g, ' ')}\\b`).test(text);
    expect(hasExample).toBe(!KNOWN_WITHOUT_EXAMPLE.has(path));
  });

  it('wafer --help lists every command with its description; exit 0, nothing on stderr', async () => {
    const r = await wafer(['--help'], { cwd: fresh() });
    expect([r.code, r.stderr]).toEqual([0, '']);
    for (const [path, cmd] of TOP) {
      const name = path.split(' ')[1];
      const firstWords = cmd.description().split(' ').slice(0, 3).join(' ');
      expect(r.stdout).toMatch(new RegExp(`\\n  ${name}( \\[options\\])?( \\[command\\])?( <[a-z]+>)? +${firstWords.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    }
    expect(r.stdout).toMatch(/Exit codes: 0 ok, 2 bad input .*, 1 internal error/);
  });

  it('wafer compile --help and wafer model help show print the help on stdout, exit 0', async () => {
    const [a, b] = await Promise.all([wafer(['compile', '--help']), wafer(['model', 'help', 'show'])]);
    expect([a.code, a.stderr, b.code, b.stderr]).toEqual([0, '', 0, '']);
    expect(a.stdout).toMatch(/^Usage: wafer compile \[options\]\n[\s\S]*\nExamples:\n  npx wafer compile /);
    expect(b.stdout).toMatch(/^Usage: wafer model show \[options\] <model>\n/);
  });

  it('wafer --version prints the package version; wafer alone prints the help on stderr and exits 2', async () => {
    const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
    const [v, bare] = await Promise.all([wafer(['--version']), wafer([])]);
    expect([v.code, v.stdout, v.stderr]).toEqual([0, `${version}\n`, '']);
    expect([bare.code, bare.stdout]).toEqual([2, '']);
    expect(bare.stderr).toMatch(/^Usage: wafer \[options\] \[command\]\n[\s\S]*\nerror: no command given \(wafer\): use one of demo, model, generate, compile, faults, run, gpu, .*\n$/);
  });
});

/**
 * One cheap, successful invocation per command; `dir` is an empty directory for outputs. Every leaf command that
 * exists must appear here (a new command fails the coverage test until it is added).
 */
const CASES: Record<string, (dir: string) => string[]> = {
  'wafer demo': () => ['demo', '--quick'],
  'wafer model list': () => ['model', 'list'],
  'wafer model show': () => ['model', 'show', 'toy-moe'],
  'wafer model init': (d) => ['model', 'init', 'toy-dense', '--out', join(d, 'm')],
  'wafer generate': () => ['generate', '--model', TINY, '--prompt', '1,2', '--tokens', '2'],
  'wafer compile': (d) => ['compile', '--model', TINY, '--fabric', 'mini-8', '--out', join(d, 'p.json')],
  'wafer faults': (d) => ['faults', '--fabric', 'mini-8', '--density', '0.05', '--seed', '3', '--out', join(d, 'f.json')],
  'wafer run': () => ['run', '--model', TINY, '--fabric', 'mini-8', '--prompt', '1,2', '--tokens', '2', '--workers', '0'],
  'wafer gpu': () => ['gpu', '--model', TINY],
  'wafer calibrate gpu': (d) => ['calibrate', 'gpu', '--data', GPU_RUNS, '--out', join(d, 'fit.json')],
  'wafer compare': (d) => ['compare', '--model', 'toy-moe', '--fabrics', 'mini-64,h100', '--out', join(d, 'wall.svg')],
  'wafer noc': () => ['noc', '--mesh', '4x4', '--rate', '0.1', '--cycles', '200', '--warmup', '50'],
  'wafer bench kernels': () => ['bench', 'kernels', '--quick'],
  'wafer bench engine': () => ['bench', 'engine', '--quick'],
  'wafer bench fabrics': (d) => ['bench', 'fabrics', '--models', 'toy-dense', '--out-dir', join(d, 'bench')],
  'wafer bench project': () => ['bench', 'project', '--quick'],
  'wafer bench sensitivity': () => ['bench', 'sensitivity', '--quick'],
  'wafer bench scale': () => ['bench', 'scale', '--quick'],
  'wafer bench gpu-accuracy': (d) => ['bench', 'gpu-accuracy', '--data', GPU_RUNS, '--out-dir', join(d, 'bench')],
  'wafer project': () => ['project', '--model', 'toy-dense', '--fabric', 'mini-64'],
  'wafer speculate': () => ['speculate', '--model', 'toy-moe', '--fabrics', 'mini-64,h100', '--context', '64'],
  'wafer diffuse': () => ['diffuse', '--model', 'toy-dense', '--fabrics', 'mini-64,h100', '--context', '64', '--block', '8', '--steps', '2'],
  'wafer decode': () => ['decode', '--model', 'toy-dense', '--fabrics', 'mini-64,h100', '--context', '64', '--stacked'],
  'wafer agent': (d) => ['agent', '--model', 'toy-dense', '--fabrics', 'mini-64,h100', '--calls', '3', '--prompt-tokens', '20', '--output-tokens', '5', '--tool-tokens', '5', '--out', join(d, 'agent.svg')],
  'wafer report': (d) => ['report', '--model', TINY, '--fabric', 'mini-8', '--prompt', '1,2', '--tokens', '2', '--workers', '0', '--out', join(d, 'r.html')],
  'wafer sweep plan': () => ['sweep', 'plan', join(REPO, 'examples/yield-toy-moe.yaml')],
  'wafer sweep run': (d) => {
    writeFileSync(join(d, 's.json'), JSON.stringify({ name: 'cli', studies: [{ run: 'gpu', axes: { model: ['toy-moe'], gpu: ['h100'] } }] }));
    return ['sweep', 'run', join(d, 's.json'), '--out', join(d, 'results'), '--threads', '1'];
  },
  'wafer sweep report': (d) => ['sweep', 'report', join(REPO, 'test/fixtures/sweep-results'), '--out-dir', d],
};
// The slowest (4–6 CPU-seconds each) run only once, in the --json pass.
const JSON_ONLY = new Set(['wafer demo', 'wafer bench engine', 'wafer bench gpu-accuracy', 'wafer bench scale']);
// Commands that print no JSON (with the reason), or that are too slow for a test that runs every command.
const NOT_HERE: Record<string, string> = {
  'wafer sweep worker': 'runs until stopped; test/unit/src/sweep/queue.test.ts runs it against a real Redis',
  'wafer bench sweep': 'starts a redis-server and worker processes; test/unit/src/sweep/sweepBench.test.ts runs it (--quick)',
  'wafer lab': 'serves until stopped, and --out bundles the site and records two mesh runs (~15 s); test/unit/lab/labCli.test.ts and the lab browser test cover it',
};

const LEAVES = COMMANDS.filter(([, c]) => c.commands.length === 0).map(([p]) => p);
const CASE_LIST = LEAVES.filter((p) => CASES[p]);

describe('every command with --json, --quiet and --verbose', () => {
  it('every leaf command has a case here', () => {
    expect(LEAVES.filter((p) => !CASES[p] && !NOT_HERE[p])).toEqual([]);
  });

  describe.concurrent('--json (with --verbose): only JSON on stdout', () => {
    it.each(CASE_LIST)('%s', async (path) => {
      const dir = fresh();
      const args = CASES[path](dir);
      // Global options before the command for half of them, after it for the others: both must work.
      const r = await wafer(args.length % 2 ? ['--json', '--verbose', ...args] : [...args, '--verbose', '--json'], { cwd: dir });
      expect(r.stderr.replace(/^(?!error:).*\n/gm, '')).toBe(''); // stderr may carry notes, never an error
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^[{[]/);
      expect(() => JSON.parse(r.stdout)).not.toThrow();
    });
  });

  describe.concurrent('--quiet: text on stdout, nothing on stderr', () => {
    it.each(CASE_LIST.filter((p) => !JSON_ONLY.has(p)))('%s', async (path) => {
      const dir = fresh();
      const args = CASES[path](dir);
      const r = await wafer(args.length % 2 ? ['--quiet', ...args] : [...args, '-q'], { cwd: dir });
      expect([r.code, r.stderr]).toEqual([0, '']);
      if (path !== 'wafer model init') expect(r.stdout.trim().length).toBeGreaterThan(0);
      expect(() => JSON.parse(r.stdout)).toThrow();
    });
  });
});

describe('exit codes', () => {
  it('2 for bad input, with one line on stderr and nothing on stdout, with --json too', async () => {
    const args = ['generate', '--model', TINY, '--prompt', '1,2', '--tokens', 'many'];
    const [r, j] = await Promise.all([wafer(args, { cwd: fresh() }), wafer(['--json', ...args], { cwd: fresh() })]);
    for (const x of [r, j]) expect([x.code, x.stdout, x.stderr]).toEqual([2, '', 'error: not an integer: "many" (--tokens): give a whole number in [1, 4096]\n']);
  });

  it('1 for an internal error: one line without --verbose, the stack trace with it', async () => {
    // A program artifact whose LM head was pointed at the embedding table (same shape, so it loads): the mesh
    // computes other logits than the reference, and the run's check stops it — a failure of the run, not bad input.
    const dir = fresh();
    const prog = join(dir, 'p.json');
    const c = await wafer(['compile', '--model', TINY, '--fabric', 'mini-8', '--out', prog, '--quiet'], { cwd: dir });
    expect(c.code).toBe(0);
    writeFileSync(prog, readFileSync(prog, 'utf8').replaceAll('"tensor":"lm_head.weight"', '"tensor":"model.embed_tokens.weight"'));
    const args = ['run', '--model', TINY, '--fabric', 'mini-8', '--program', prog, '--prompt', '1,2', '--tokens', '2', '--workers', '0'];
    const [plain, verbose] = await Promise.all([wafer(args, { cwd: dir }), wafer([...args, '--verbose'], { cwd: dir })]);
    expect([plain.code, plain.stdout]).toEqual([1, '']);
    expect(plain.stderr).toMatch(/^internal error: mesh and reference disagree at step 0 .* \(run again with --verbose for the stack trace\)\n$/);
    expect([verbose.code, verbose.stdout]).toEqual([1, '']);
    expect(verbose.stderr).toMatch(/^internal error: mesh and reference disagree at step 0 [^\n]*\nError: mesh and reference disagree[^\n]*\n\s+at /);
    expect(readdirSync(dir)).toEqual(['p.json']);
  });
});

describe('progress bars', () => {
  interface Sink {
    isTTY: boolean;
    text: string;
    write(s: string): boolean;
  }
  const sink = (isTTY: boolean): Sink => ({
    isTTY,
    text: '',
    write(s: string) {
      this.text += s;
      return true;
    },
  });
  const g = (o: Partial<{ json: boolean; quiet: boolean }> = {}) => ({ json: false, verbose: false, quiet: false, ...o });

  it('draw on a terminal only once the work has taken 2 s, and clear themselves', () => {
    let t = 0;
    const s = sink(true);
    const bar = progress(g(), 'mesh', { stream: s, now: () => t });
    bar.update(1, 10);
    t = 1999;
    bar.update(2, 10);
    expect(s.text).toBe('');
    t = 2000;
    bar.update(5, 10);
    expect(s.text).toBe(`\rmesh [${'#'.repeat(15)}${'.'.repeat(15)}] 5/10`);
    bar.end();
    expect(s.text.endsWith('\r\x1b[2K')).toBe(true);
  });

  it('short work leaves nothing behind, not even the clearing sequence', () => {
    let t = 0;
    const s = sink(true);
    const bar = progress(g(), 'mesh', { stream: s, now: () => t });
    bar.update(10, 10);
    t = 500;
    bar.end();
    expect(s.text).toBe('');
  });

  it.each([
    ['--json', g({ json: true }), true],
    ['--quiet', g({ quiet: true }), true],
    ['stderr not a terminal', g(), false],
  ])('hidden with %s', (_what, opts, tty) => {
    let t = 0;
    const s = sink(tty);
    const bar = progress(opts, 'mesh', { stream: s, now: () => t });
    t = 10_000;
    bar.update(5, 10);
    bar.end();
    expect(s.text).toBe('');
  });

  it('a run whose stderr is a pipe prints no bar', async () => {
    const r = await wafer(CASES['wafer run'](''), { cwd: fresh() });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/\r|\x1b/);
  });
});
