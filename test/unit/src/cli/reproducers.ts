// The reproducers of issue 15: inputs that crashed, hung or exhausted wafer. Each must now give one `error:` line and
// exit 2 (test/unit/src/cli/reproducers.test.ts); `npm run fuzz` also times them and measures their peak memory
// (bench/results/fuzz.md). A case is data: the files it needs (written into an empty directory of its own) and the
// arguments, where `@` stands for that directory.
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildGraph } from '../../../../compiler/graph/graph.js';
import { getPreset } from '../../../../compiler/model/presets.js';
import { compileModel } from '../../../../compiler/wafer/compile.js';
import { getFabricPreset } from '../../../../fabric/spec/index.js';
import type { Program } from '../../../../fabric/isa/types.js';

export interface Reproducer {
  name: string;
  /** Files to write before running: relative path -> JSON value or text. */
  files?: Record<string, unknown>;
  /** Extra setup in the case's directory (links). */
  setup?: (dir: string) => void;
  args: string[];
  /** The message must match (after `error: `). */
  message: RegExp;
}

const llamaConfig = { model_type: 'llama', hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 128, vocab_size: 64 };
const mini = (): Record<string, unknown> => ({ ...getFabricPreset('mini-64') }) as Record<string, unknown>;
const faultMap = (w: number, h: number, extra: object = {}) => ({ width: w, height: h, deadTiles: [], deadCores: [], deadLinks: [], ...extra });

/** An emitted toy-dense program for mini-64 with one recv trigger counting one wavelet too many. */
export function shortReceiveProgram(): Program {
  const p = compileModel(buildGraph(getPreset('toy-dense')), { spec: getFabricPreset('mini-64'), faults: null, repair: 'route-around', dtype: 'f32', maxSeq: 16 }).program;
  for (const t of p.tiles) {
    const task = t.tasks.find((x) => x.trigger.on === 'recv' && x.trigger.count > 1 && x.trigger.into.length > x.trigger.count);
    if (task && task.trigger.on === 'recv') {
      task.trigger.count += 1;
      return p;
    }
  }
  for (const t of p.tiles) {
    const task = t.tasks.find((x) => x.trigger.on === 'recv' && x.trigger.count > 1);
    if (task && task.trigger.on === 'recv') {
      task.trigger.count -= 1;
      return p;
    }
  }
  throw new Error('no recv trigger to mutate');
}

export const REPRODUCERS: readonly Reproducer[] = [
  { name: 'config.json: model_type a 5,000-deep array', files: { 'm/config.json': JSON.stringify(llamaConfig).replace('"llama"', '['.repeat(5000) + '"llama"' + ']'.repeat(5000)) }, args: ['model', 'show', '@/m'], message: /JSON nested deeper than 64 levels/ },
  { name: 'config.json: 2^32 layers', files: { 'm/config.json': { ...llamaConfig, num_hidden_layers: 2 ** 32 } }, args: ['model', 'show', '@/m'], message: /num_hidden_layers.*1024/ },
  { name: 'config.json: 2^31 layers (generate)', files: { 'm/config.json': { ...llamaConfig, num_hidden_layers: 2 ** 31 } }, args: ['generate', '--model', '@/m', '--prompt', '1', '--tokens', '1'], message: /num_hidden_layers/ },
  { name: 'config.json: 10^9 layers (gpu)', files: { 'm/config.json': { ...llamaConfig, num_hidden_layers: 1e9 } }, args: ['gpu', '--model', '@/m/config.json'], message: /num_hidden_layers/ },
  { name: 'config.json: 10^9 layers (project)', files: { 'm/config.json': { ...llamaConfig, num_hidden_layers: 1e9 } }, args: ['project', '--model', '@/m'], message: /num_hidden_layers/ },
  {
    name: 'config.json: 10^8 experts × 1,000 layers',
    files: { 'm/config.json': { ...llamaConfig, model_type: 'mixtral', num_hidden_layers: 1000, num_local_experts: 1e8, num_experts_per_tok: 2 } },
    args: ['model', 'show', '@/m'],
    message: /num_local_experts.*4096/,
  },
  {
    name: 'config.json: 4,096 experts × 1,000 layers (each bound alone holds)',
    files: { 'm/config.json': { ...llamaConfig, model_type: 'mixtral', num_hidden_layers: 1000, num_local_experts: 4096, num_experts_per_tok: 2 } },
    args: ['model', 'show', '@/m'],
    message: /routed experts in all/,
  },
  { name: 'fault map of height 2^31', files: { 'f.json': faultMap(8, 2 ** 31) }, args: ['faults', '--fabric', 'mini-8', '--map', '@/f.json'], message: /height/ },
  { name: 'fault map of 10^9 × 10^9', files: { 'f.json': faultMap(1e9, 1e9) }, args: ['faults', '--fabric', 'mini-8', '--map', '@/f.json'], message: /width/ },
  { name: 'fabric spec 100000×100000 (project)', files: { 'fab.json': { ...mini(), widthTiles: 100000, heightTiles: 100000 } }, args: ['project', '--model', 'toy-dense', '--fabric', '@/fab.json'], message: /widthTiles.*4096/ },
  { name: 'fabric spec 100000×100000 (compile)', files: { 'fab.json': { ...mini(), widthTiles: 100000, heightTiles: 100000 } }, args: ['compile', '--model', 'toy-dense', '--fabric', '@/fab.json'], message: /widthTiles.*4096/ },
  { name: 'fabric with sramBytesPerTile 4', files: { 'fab.json': { ...mini(), sramBytesPerTile: 4 } }, args: ['compile', '--model', 'toy-dense', '--fabric', '@/fab.json'], message: /sramBytesPerTile/ },
  { name: 'fabric with 1 KiB tiles: the model cannot fit', files: { 'fab.json': { ...mini(), sramBytesPerTile: 1024 } }, args: ['compile', '--model', 'toy-dense', '--fabric', '@/fab.json'], message: /cannot fit/ },
  { name: 'noc --mesh 2000x2000', args: ['noc', '--mesh', '2000x2000', '--rate', '0.1'], message: /needs an estimated .* GB, over the .* limit \(--max-memory-mb\)/ },
  { name: 'noc --mesh 5000x5000', args: ['noc', '--mesh', '5000x5000', '--rate', '0.1'], message: /larger than 4096/ },
  { name: 'noc --mesh 1x100000', args: ['noc', '--mesh', '1x100000', '--rate', '0.1'], message: /larger than 4096/ },
  { name: 'noc --mesh 1x4000 (within the side bound)', args: ['noc', '--mesh', '1x4000', '--rate', '0.1'], message: /router-cycles, over the limit .*\(--max-work\)/ },
  { name: 'noc --rate 1e-300', args: ['noc', '--rate', '1e-300'], message: /fewer than one packet is expected/ },
  { name: 'noc --cycles 1e9', args: ['noc', '--rate', '0.1', '--cycles', '1000000000'], message: /--max-(memory-mb|work)/ },
  { name: 'project --context 10^12', args: ['project', '--model', 'llama-3.1-8b', '--context', '1000000000000'], message: /too large \(--context\)/ },
  { name: 'hand-edited program: a receive count off by one', files: { 'p.json': 'SHORT_RECEIVE' }, args: ['run', '--model', 'toy-dense', '--fabric', 'mini-64', '--max-seq', '16', '--program', '@/p.json', '--prompt', '1', '--tokens', '1'], message: /short receive|stuck in the router/ },
  { name: '--out /proc/x', args: ['faults', '--fabric', 'mini-8', '--density', '0.1', '--out', '/proc/x'], message: /cannot write the output/ },
  { name: 'a JSON syntax error', files: { 'f.json': '{\n  "width": 8,\n  "height" 8\n}' }, args: ['faults', '--fabric', 'mini-8', '--map', '@/f.json'], message: /malformed JSON: .* at line 3, column 12/ },
  { name: '--density 0x1', args: ['faults', '--fabric', 'mini-8', '--density', '0x1'], message: /not a number: "0x1"/ },
  { name: '--density 1e-400', args: ['faults', '--fabric', 'mini-8', '--density', '1e-400'], message: /rounds to 0/ },
  { name: 'generate --seed 99999999999999999999', args: ['generate', '--model', 'toy-dense', '--prompt', '1', '--tokens', '1', '--seed', '99999999999999999999'], message: /too large \(--seed\): give a whole number in \[0, 2\^53 − 1\]/ },
  { name: 'faults --seed 99999999999999999999 (the same range)', args: ['faults', '--fabric', 'mini-8', '--density', '0.1', '--seed', '99999999999999999999'], message: /too large \(--seed\): give a whole number in \[0, 2\^53 − 1\]/ },
  { name: 'a dangling symlink as --out', setup: (dir) => symlinkSync(join(dir, 'missing', 'target.json'), join(dir, 'link.json')), args: ['faults', '--fabric', 'mini-8', '--density', '0.1', '--out', '@/link.json'], message: /symbolic link to a missing file/ },
  { name: 'noc with every tile dead', files: { 'dead.json': faultMap(2, 2, { deadTiles: [[0, 0], [1, 0], [0, 1], [1, 1]] }) }, args: ['noc', '--mesh', '2x2', '--rate', '0.1', '--faults', '@/dead.json'], message: /no usable tile|not connected|dead/ },
  { name: 'missing parent folders of --out', args: ['faults', '--fabric', 'mini-8', '--density', '0.1', '--out', '@/a/b/c.json'], message: /does not exist .*create it first/ },
];

/** Writes a case's files and links into `dir` and returns its arguments with `@` replaced by `dir`. */
export function prepareReproducer(r: Reproducer, dir: string, mkdir: (p: string) => void): string[] {
  for (const [rel, value] of Object.entries(r.files ?? {})) {
    const path = join(dir, rel);
    mkdir(join(path, '..'));
    const text = value === 'SHORT_RECEIVE' ? JSON.stringify(shortReceiveProgram()) : typeof value === 'string' ? value : JSON.stringify(value);
    writeFileSync(path, text);
  }
  r.setup?.(dir);
  return r.args.map((a) => (a.startsWith('@') ? dir + a.slice(1) : a));
}
