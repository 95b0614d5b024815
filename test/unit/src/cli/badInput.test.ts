// Bad input, everywhere: every case through the real CLI gives exactly one line
// `error: <what> (<field or path>): <how to fix>` on stderr, exit code 2, nothing on stdout, and leaves no file
// behind — each case runs in an empty directory of its own (its cwd, and where --out points), which must stay empty
// (or hold only the user's own file, byte for byte).
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getFabricPreset } from '../../../../fabric/spec/index.js';
import { readSafetensors, writeSafetensors } from '../../../../compiler/model/safetensors.js';
import { REPO, wafer } from './spawnWafer.js';

const root = mkdtempSync(join(tmpdir(), 'wafer-bad-input-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const TINY = join(REPO, 'test/fixtures/tiny-llama'); // vocabulary 64, fits mini-8
const f = (name: string) => join(root, name);
const FORMAT = /^error: .+ \(.+\): .+$/;

/** A fresh empty directory for one case: the command's cwd and where its --out goes. */
function caseDir(): string {
  return mkdtempSync(join(root, 'case-'));
}

/** Runs `args` in an empty directory and checks the one-line error, exit 2, empty stdout, and no file left. */
async function expectBadInput(args: (dir: string) => string[], message: string | RegExp | ((dir: string) => string)): Promise<void> {
  const dir = caseDir();
  const r = await wafer(args(dir), { cwd: dir });
  if (message instanceof RegExp) {
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trimEnd()).toMatch(FORMAT);
    expect(r.stderr.trimEnd().includes('\n')).toBe(false);
  } else {
    const expected = typeof message === 'string' ? message : message(dir);
    expect(expected).toMatch(FORMAT);
    expect(r.stderr).toBe(`${expected}\n`);
  }
  expect(r.stdout).toBe('');
  expect(r.code).toBe(2);
  expect(readdirSync(dir)).toEqual([]);
}

let itlNanoseconds = 0;
let stInfo: { first: string; last: string; lastBegin: number; lastEnd: number; dataBytes: number; second: string; secondBegin: number; secondEnd: number; firstEnd: number };

beforeAll(() => {
  const spec = { ...getFabricPreset('mini-8') } as Record<string, unknown>;
  const json = (name: string, v: unknown) => writeFileSync(f(name), typeof v === 'string' ? v : JSON.stringify(v, null, 2));
  json('fabric-malformed.json', '{\n  "name": "my-wafer",\n  "widthTiles": 8,\n  "heightTiles" 8\n}');
  json('fabric-unknown-key.json', { ...spec, colour: 3 });
  json('fabric-wrong-type.json', { ...spec, clockHz: 'fast' });
  json('fabric-fraction.json', { ...spec, heightTiles: 2.5 });
  json('fabric-zero.json', { ...spec, widthTiles: 0 });
  json('fabric-negative.json', { ...spec, sramBytesPerTile: -48 });
  const map = (o: object) => ({ width: 8, height: 8, deadTiles: [], deadCores: [], deadLinks: [], ...o });
  json('faults-malformed.json', '{"width": 8, "height": 8, deadTiles: []}');
  json('faults-unknown-key.json', map({ deadRouters: [] }));
  json('faults-wrong-type.json', map({ deadTiles: 'none' }));
  json('faults-zero.json', map({ width: 0 }));
  json('faults-outside.json', map({ deadTiles: [[1, 1], [9, 2]] }));
  json('faults-wrong-size.json', map({ width: 16, height: 16 }));
  // A wall of dead tiles down column 2 cuts the 8×8 mesh in two.
  json('faults-cut.json', map({ deadTiles: Array.from({ length: 8 }, (_, y) => [2, y]) }));
  json('gpu-unknown-key.json', { extends: 'h100', hbmBandwith: 1 });
  json('report-malformed.json', '{"kind": "wafer-report-data",\n');
  // Measured GPU runs: the small fixture with ITL in nanoseconds on one row, and with an unknown GPU.
  const runs = readFileSync(join(REPO, 'test/fixtures/gpu-measured-small.csv'), 'utf8').split('\n');
  const row = runs[2].split(',');
  itlNanoseconds = Math.round(Number(row[8]) * 1e6);
  row[8] = String(itlNanoseconds);
  json('runs-ns.csv', [runs[0], runs[1], row.join(','), ...runs.slice(3)].join('\n'));
  json('runs-gpu.csv', [runs[0], runs[1].replace('H100_80GB_HBM3', 'H200'), ...runs.slice(2)].join('\n'));

  // Model directories: the tiny Llama fixture's config.json, altered; weights rewritten with writeSafetensors.
  const config = JSON.parse(readFileSync(join(TINY, 'config.json'), 'utf8')) as Record<string, unknown>;
  const file = readSafetensors(new Uint8Array(readFileSync(join(TINY, 'model.safetensors'))), 'fixture');
  const st = writeSafetensors([...file.tensors].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, data: t.data })));
  const modelDir = (name: string, cfg: string | object, weights: Uint8Array | null = st) => {
    mkdirSync(f(name));
    writeFileSync(join(f(name), 'config.json'), typeof cfg === 'string' ? cfg : JSON.stringify(cfg, null, 2));
    if (weights) writeFileSync(join(f(name), 'model.safetensors'), weights);
  };
  modelDir('model-malformed', JSON.stringify(config, null, 2).replace('"hidden_size": 32,', '"hidden_size": 32'));
  modelDir('model-wrong-type', { ...config, num_hidden_layers: '2' });
  modelDir('model-fraction', { ...config, hidden_size: 2.5 });
  modelDir('model-zero', { ...config, num_hidden_layers: 0 });
  modelDir('model-negative', { ...config, vocab_size: -64 });
  modelDir('model-no-weights', config, null);

  // The safetensors header, sorted by offset, to name the tensors the corrupt files break.
  const n = Number(new DataView(st.buffer, st.byteOffset, 8).getBigUint64(0, true));
  const headerText = new TextDecoder().decode(st.subarray(8, 8 + n));
  const header = JSON.parse(headerText) as Record<string, { data_offsets: [number, number] }>;
  const byOffset = Object.entries(header)
    .filter(([k]) => k !== '__metadata__')
    .sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
  const [first, second, last] = [byOffset[0], byOffset[1], byOffset[byOffset.length - 1]];
  const dataBytes = st.length - 8 - n;
  stInfo = {
    first: first[0],
    firstEnd: first[1].data_offsets[1],
    second: second[0],
    secondBegin: second[1].data_offsets[0],
    secondEnd: second[1].data_offsets[1],
    last: last[0],
    lastBegin: last[1].data_offsets[0],
    lastEnd: last[1].data_offsets[1],
    dataBytes,
  };
  // Truncated: the last 100 bytes of the data are gone.
  modelDir('model-truncated', config, st.subarray(0, st.length - 100));
  // A lying header: the second tensor claims bytes 64 earlier, inside the first (same length, so only offsets lie).
  const lie = JSON.parse(headerText) as Record<string, { data_offsets: [number, number] }>;
  lie[second[0]].data_offsets = [stInfo.secondBegin - 64, stInfo.secondEnd - 64];
  const lieText = JSON.stringify(lie);
  expect(lieText.length).toBeLessThanOrEqual(n);
  const lying = st.slice();
  lying.set(new TextEncoder().encode(lieText.padEnd(n, ' ')), 8);
  modelDir('model-lying-offsets', config, lying);

  writeFileSync(f('user-file.json'), '{"mine": true}\n');
});

describe.concurrent('malformed JSON', () => {
  it('a fabric spec file', async () => {
    await expectBadInput(
      (d) => ['compile', '--model', TINY, '--fabric', f('fabric-malformed.json'), '--out', join(d, 'prog.json')],
      `error: malformed JSON: unexpected number at line 4, column 17 (--fabric ${f('fabric-malformed.json')}): fix the JSON syntax`,
    );
  });
  it('a fault map', async () => {
    await expectBadInput(
      (d) => ['faults', '--fabric', 'mini-8', '--map', f('faults-malformed.json'), '--out', join(d, 'map.json')],
      `error: malformed JSON: expected double-quoted property name at line 1, column 27 (--map ${f('faults-malformed.json')}): fix the JSON syntax`,
    );
  });
  it("a model's config.json", async () => {
    await expectBadInput(
      (d) => ['compile', '--model', f('model-malformed'), '--fabric', 'mini-8', '--out', join(d, 'prog.json')],
      `error: malformed JSON: expected ',' or '}' after property value at line 4, column 3 (${join(f('model-malformed'), 'config.json')}): fix the JSON syntax`,
    );
  });
  it('a report data file (wafer report --from)', async () => {
    await expectBadInput(
      (d) => ['report', '--from', f('report-malformed.json'), '--out', join(d, 'r.html')],
      `error: malformed JSON: expected double-quoted property name at line 2, column 1 (--from ${f('report-malformed.json')}): fix the JSON syntax`,
    );
  });
});

describe.concurrent('unknown keys', () => {
  it('in a fabric spec', async () => {
    await expectBadInput(
      (d) => ['compile', '--model', TINY, '--fabric', f('fabric-unknown-key.json'), '--out', join(d, 'prog.json')],
      `error: unknown key "colour" (${f('fabric-unknown-key.json')}: (root)): remove it or check its spelling`,
    );
  });
  it('in a fault map', async () => {
    await expectBadInput(
      (d) => ['faults', '--fabric', 'mini-8', '--map', f('faults-unknown-key.json'), '--out', join(d, 'map.json')],
      `error: unknown key "deadRouters" (${f('faults-unknown-key.json')}: (root)): remove it or check its spelling`,
    );
  });
  it('in a GPU spec', async () => {
    await expectBadInput(
      () => ['gpu', '--model', TINY, '--gpu', f('gpu-unknown-key.json')],
      `error: unknown key "hbmBandwith" (${f('gpu-unknown-key.json')}: (root)): remove it or check its spelling`,
    );
  });
});

describe.concurrent('measured GPU runs', () => {
  it('a unit mismatch names the row and column, and writes no spec', async () => {
    await expectBadInput(
      (d) => ['calibrate', 'gpu', '--data', f('runs-ns.csv'), '--out', join(d, 'spec.json')],
      () => `error: unit mismatch: above 10000 ms, not a plausible time in milliseconds (nanoseconds?): ${itlNanoseconds} (${f('runs-ns.csv')}: line 3, column itl_ms): give the time in milliseconds`,
    );
  });
  it('an unknown GPU name', async () => {
    await expectBadInput(
      (d) => ['calibrate', 'gpu', '--data', f('runs-gpu.csv'), '--preset-module', join(d, 'fitted.ts')],
      `error: unknown value "H200" (${f('runs-gpu.csv')}: line 2, column gpu): use one of A100-SXM4-80GB, H100_80GB_HBM3`,
    );
  });
});

describe.concurrent('wrong types', () => {
  it('a string for a number in a fabric spec', async () => {
    await expectBadInput(
      (d) => ['compile', '--model', TINY, '--fabric', f('fabric-wrong-type.json'), '--out', join(d, 'prog.json')],
      `error: expected number, got string (${f('fabric-wrong-type.json')}: clockHz): give a number`,
    );
  });
  it('a fraction for a tile count in a fabric spec', async () => {
    await expectBadInput(
      (d) => ['compile', '--model', TINY, '--fabric', f('fabric-fraction.json'), '--out', join(d, 'prog.json')],
      `error: expected an integer, got 2.5 (${f('fabric-fraction.json')}: heightTiles): give a whole number`,
    );
  });
  it('a string for a list in a fault map', async () => {
    await expectBadInput(
      (d) => ['faults', '--fabric', 'mini-8', '--map', f('faults-wrong-type.json'), '--out', join(d, 'map.json')],
      `error: expected array, got string (${f('faults-wrong-type.json')}: deadTiles): give an array`,
    );
  });
  it("a string for a number in a model's config.json", async () => {
    await expectBadInput(
      (d) => ['compile', '--model', f('model-wrong-type'), '--fabric', 'mini-8', '--out', join(d, 'prog.json')],
      `error: expected number, got string (${join(f('model-wrong-type'), 'config.json')}: num_hidden_layers): give a number`,
    );
  });
  it("a fraction in a model's config.json", async () => {
    await expectBadInput(
      () => ['generate', '--model', f('model-fraction'), '--prompt', '1,2'],
      `error: expected an integer, got 2.5 (${join(f('model-fraction'), 'config.json')}: hidden_size): give a whole number`,
    );
  });
});

describe.concurrent('zero or negative sizes', () => {
  it('a zero-wide fabric', async () => {
    await expectBadInput(
      (d) => ['compile', '--model', TINY, '--fabric', f('fabric-zero.json'), '--out', join(d, 'prog.json')],
      `error: mesh size must be positive, got widthTiles = 0 (${f('fabric-zero.json')}: widthTiles): give at least 1 tile`,
    );
  });
  it('negative SRAM per tile', async () => {
    await expectBadInput(
      (d) => ['compile', '--model', TINY, '--fabric', f('fabric-negative.json'), '--out', join(d, 'prog.json')],
      `error: Too small: expected number to be >0 (${f('fabric-negative.json')}: sramBytesPerTile): make it >0`,
    );
  });
  it('a zero-wide fault map', async () => {
    await expectBadInput(
      (d) => ['faults', '--fabric', 'mini-8', '--map', f('faults-zero.json'), '--out', join(d, 'map.json')],
      `error: Too small: expected number to be >0 (${f('faults-zero.json')}: width): make it >0`,
    );
  });
  it('a model with zero layers', async () => {
    await expectBadInput(
      (d) => ['compile', '--model', f('model-zero'), '--fabric', 'mini-8', '--out', join(d, 'prog.json')],
      `error: Too small: expected number to be >0 (${join(f('model-zero'), 'config.json')}: num_hidden_layers): make it >0`,
    );
  });
  it('a negative vocabulary', async () => {
    await expectBadInput(
      () => ['generate', '--model', f('model-negative'), '--prompt', '1,2'],
      `error: Too small: expected number to be >0 (${join(f('model-negative'), 'config.json')}: vocab_size): make it >0`,
    );
  });
  it('zero GPUs', async () => {
    await expectBadInput(() => ['gpu', '--model', 'toy-dense', '--gpus', '0'], 'error: 0 is too small (--gpus): give a whole number in [1, 4096]');
  });
  it('a 0×4 NoC mesh', async () => {
    await expectBadInput(() => ['noc', '--mesh', '0x4', '--rate', '0.1'], 'error: mesh width 0 is not positive (--mesh): give at least 1 tile a side');
  });
});

describe.concurrent('what does not fit', () => {
  it('a model too large for the fabric', async () => {
    await expectBadInput(
      (d) => ['compile', '--model', 'toy-dense', '--fabric', 'mini-8', '--out', join(d, 'prog.json')],
      "error: toy-dense cannot fit: its f32 weights need 1.27e+7 bytes, mini-8's 8x8 tiles of 49152 B hold 3.15e+6 (--fabric): pick a larger fabric, a narrower --dtype, or `wafer project` (which spreads a model over several wafers)",
    );
  });
  it('a fault map naming a tile outside the grid', async () => {
    await expectBadInput(
      (d) => ['compile', '--model', TINY, '--fabric', 'mini-8', '--faults', f('faults-outside.json'), '--out', join(d, 'prog.json')],
      `error: tile (9,2) is outside the 8x8 mesh (${f('faults-outside.json')}: deadTiles[1]): use 0 ≤ x < 8 and 0 ≤ y < 8`,
    );
  });
  it('a fault map of another size than the fabric', async () => {
    await expectBadInput(
      (d) => ['faults', '--fabric', 'mini-8', '--map', f('faults-wrong-size.json'), '--out', join(d, 'map.json')],
      `error: fault map is 16x16 but mini-8's mesh is 8x8 (--map ${f('faults-wrong-size.json')}): give a fault map of 8x8`,
    );
  });
  it('a fault map that cuts the mesh in two: compile names the unreachable path', async () => {
    await expectBadInput(
      (d) => ['compile', '--model', TINY, '--fabric', 'mini-8', '--faults', f('faults-cut.json'), '--out', join(d, 'prog.json')],
      'error: no live path from tile (1,1) to (3,6) for L0.out0 (fault map): the faults cut the mesh apart here: use fewer faults, --repair remap, or another seed',
    );
  });
});

describe.concurrent('safetensors files that lie', () => {
  it('a truncated file', async () => {
    const s = stInfo;
    await expectBadInput(
      (d) => ['compile', '--model', f('model-truncated'), '--fabric', 'mini-8', '--out', join(d, 'prog.json')],
      `error: data_offsets [${s.lastBegin}, ${s.lastEnd}] run past the ${s.dataBytes - 100}-byte data section (${join(f('model-truncated'), 'model.safetensors')}: tensor "${s.last}"): the file is truncated or corrupt`,
    );
  });
  it('a header whose offsets overlap', async () => {
    const s = stInfo;
    await expectBadInput(
      () => ['generate', '--model', f('model-lying-offsets'), '--prompt', '1,2'],
      `error: bytes [${s.secondBegin - 64}, ${s.secondEnd - 64}) overlap tensor "${s.first}" [0, ${s.firstEnd}) (${join(f('model-lying-offsets'), 'model.safetensors')}: tensor "${s.second}"): the file is corrupt`,
    );
  });
});

describe.concurrent('missing files', () => {
  it('a fault map that does not exist', async () => {
    await expectBadInput(
      (d) => ['compile', '--model', TINY, '--fabric', 'mini-8', '--faults', f('nope.json'), '--out', join(d, 'prog.json')],
      `error: file not found (--faults ${f('nope.json')}): check the path`,
    );
  });
  it('a fabric spec file that does not exist', async () => {
    await expectBadInput(() => ['faults', '--fabric', f('nope.json'), '--density', '0.1'], `error: file not found (--fabric ${f('nope.json')}): check the path`);
  });
  it('a program artifact that does not exist', async () => {
    await expectBadInput(
      () => ['run', '--model', TINY, '--fabric', 'mini-8', '--program', f('nope.json'), '--prompt', '1,2', '--tokens', '2', '--workers', '0'],
      `error: file not found (--program ${f('nope.json')}): check the path`,
    );
  });
  it('a model directory that does not exist', async () => {
    await expectBadInput(
      () => ['generate', '--model', f('no-such-model'), '--prompt', '1,2'],
      `error: "${f('no-such-model')}" is neither a model directory nor a preset (--model): give a directory with config.json and model.safetensors, or one of toy-dense, toy-moe, gpt2-small-dense, tinyllama-1b-dense, llama-3.1-8b, llama-3.1-70b, llama-3.1-405b, qwen3-4b, qwen3-32b, qwen3-235b-a22b, gpt-oss-20b, gpt-oss-120b, mixtral-8x7b, kimi-k2`,
    );
  });
  it('a model directory without model.safetensors', async () => {
    await expectBadInput(
      () => ['run', '--model', f('model-no-weights'), '--fabric', 'mini-8', '--prompt', '1,2', '--tokens', '2', '--workers', '0'],
      `error: model.safetensors not found (${join(f('model-no-weights'), 'model.safetensors')}): a model directory holds config.json and model.safetensors (create one with: wafer model init toy-dense --out DIR)`,
    );
  });
});

describe.concurrent('bad --prompt, --tokens and --seed', () => {
  it('--prompt 1,x,3', async () => {
    await expectBadInput(() => ['generate', '--model', TINY, '--prompt', '1,x,3'], 'error: not a list of token ids: "1,x,3" (--prompt): give comma-separated non-negative integers, e.g. 1,2,3');
  });
  it('an empty --prompt', async () => {
    await expectBadInput(
      () => ['run', '--model', TINY, '--fabric', 'mini-8', '--prompt', '', '--tokens', '2', '--workers', '0'],
      'error: not a list of token ids: "" (--prompt): give comma-separated non-negative integers, e.g. 1,2,3',
    );
  });
  it('a token id outside the vocabulary', async () => {
    await expectBadInput(() => ['generate', '--model', TINY, '--prompt', '1,64'], 'error: token id 64 is outside the vocabulary of 64 (--prompt): use ids below 64');
  });
  it('a token id outside the vocabulary on the mesh', async () => {
    await expectBadInput(
      () => ['run', '--model', TINY, '--fabric', 'mini-8', '--prompt', '3,99', '--tokens', '2', '--workers', '0'],
      'error: token id 99 is outside the vocabulary of 64 (--prompt): use ids below 64',
    );
  });
  it('a --seed that is not a number, even where no fault map is generated', async () => {
    await expectBadInput((d) => ['compile', '--model', TINY, '--fabric', 'mini-8', '--seed', 'x1', '--out', join(d, 'p.json')], 'error: not an integer: "x1" (--seed): give a whole number ≥ 0');
  });
  it('--tokens 0', async () => {
    await expectBadInput(() => ['run', '--model', TINY, '--fabric', 'mini-8', '--prompt', '1,2', '--tokens', '0', '--workers', '0'], 'error: 0 is too small (--tokens): give a whole number in [1, 4096]');
  });
  it('--parallel-mesh with no thread to step it', async () => {
    await expectBadInput(() => ['run', '--model', TINY, '--fabric', 'mini-8', '--prompt', '1,2', '--tokens', '1', '--workers', '0', '--parallel-mesh'], 'error: --parallel-mesh with 0 workers (--workers): give 1 or more threads to step the mesh');
  });
});

describe.concurrent('unknown names', () => {
  it('an unknown model preset', async () => {
    await expectBadInput(
      () => ['gpu', '--model', 'llama-9'],
      'error: unknown model preset "llama-9" (--model): use one of toy-dense, toy-moe, gpt2-small-dense, tinyllama-1b-dense, llama-3.1-8b, llama-3.1-70b, llama-3.1-405b, qwen3-4b, qwen3-32b, qwen3-235b-a22b, gpt-oss-20b, gpt-oss-120b, mixtral-8x7b, kimi-k2, or a model directory',
    );
  });
  it('an unknown fabric preset', async () => {
    await expectBadInput(
      (d) => ['compile', '--model', TINY, '--fabric', 'wse9', '--out', join(d, 'prog.json')],
      'error: unknown fabric preset "wse9" (--fabric): use one of wse2, wse3, mini-4, mini-8, mini-16, mini-32, mini-64, mini-128, mini-256, mini-320, or a spec JSON file',
    );
  });
  it('an unknown dtype for compile', async () => {
    await expectBadInput((d) => ['compile', '--model', TINY, '--fabric', 'mini-8', '--dtype', 'fp4', '--out', join(d, 'prog.json')], 'error: unsupported dtype "fp4" (--dtype): use one of f32, bf16, int8');
  });
  it('an unknown dtype for generate', async () => {
    await expectBadInput(() => ['generate', '--model', TINY, '--prompt', '1,2', '--dtype', 'f8'], 'error: unsupported dtype "f8" (--dtype): use one of f32, bf16, f16, int8');
  });
  it('an unknown dtype for model init', async () => {
    await expectBadInput((d) => ['model', 'init', 'toy-dense', '--out', join(d, 'm'), '--dtype', 'int4'], 'error: unsupported dtype "int4" (--dtype): use one of f32, bf16, f16');
  });
  it('an unknown fabric in a comparison', async () => {
    await expectBadInput(
      (d) => ['compare', '--model', 'toy-moe', '--fabrics', 'mini-64,h900', '--out', join(d, 'wall.svg')],
      'error: unknown fabric "h900" (--fabrics): use GPU presets (a100, h100, h200, b200), wafer presets (wse2, wse3, mini-4, mini-8, mini-16, mini-32, mini-64, mini-128, mini-256, mini-320) or spec .json files, comma-separated',
    );
  });
  it('an unknown traffic pattern', async () => {
    await expectBadInput(() => ['noc', '--rate', '0.1', '--pattern', 'zigzag'], 'error: unknown traffic pattern "zigzag" (--pattern): use one of uniform, transpose, bitcomplement, hotspot, neighbor');
  });
  it('more hub slices than the model has hidden columns (compile and project)', async () => {
    await expectBadInput(() => ['compile', '--model', 'toy-dense', '--fabric', 'mini-64', '--hub-slices', '300'], "error: 300 hub slices are more than the model's 256 hidden columns (--hub-slices): give auto or at most 256");
    await expectBadInput(() => ['project', '--model', 'toy-dense', '--fabric', 'mini-64', '--hub-slices', '999'], 'error: "999" is too large (--hub-slices): give a whole number in [1, 256]');
  });

  it('an unknown KV-cache dtype for a projection', async () => {
    await expectBadInput(() => ['project', '--model', 'toy-dense', '--fabric', 'mini-64', '--kv-dtype', 'f16'], 'error: unsupported dtype "f16" (--kv-dtype): use one of bf16, f32');
  });
  it('--assume: an unknown name, a non-number, a value outside the spec schema', async () => {
    const run = (a: string) => () => ['project', '--model', 'toy-dense', '--fabric', 'mini-16', '--assume', a];
    await Promise.all([
      expectBadInput(run('clock-ghz=1'), /^error: unknown assumption "clock-ghz" \(--assume\): use one of clock-hz, /),
      expectBadInput(run('clock-hz=fast'), 'error: not a number: "fast" for "clock-hz" (--assume): give a finite number, e.g. clock-hz=850e6 or inter-wafer-latency-seconds=5e-6'),
      expectBadInput(run('op-setup-cycles=-1'), /^error: .* \(--assume op-setup-cycles on mini-16: costs\.opSetupCycles\): /),
      expectBadInput(run('sram-access-bytes=4.5'), 'error: expected an integer, got 4.5 (--assume sram-access-bytes on mini-16: sramAccessBytes): give a whole number'),
    ]);
  });
  it('an unknown kernel build for the kernel benchmark', async () => {
    await expectBadInput(() => ['bench', 'kernels', '--quick', '--simd', 'avx512'], 'error: unknown kernel build "avx512" (--simd): use relaxed or portable');
  });
});

describe.concurrent("the user's files are never overwritten without --force", () => {
  const userFile = '{"mine": true}\n';
  async function expectRefused(args: (out: string) => string[], message: (out: string) => string): Promise<void> {
    const dir = caseDir();
    const out = join(dir, 'mine.json');
    copyFileSync(f('user-file.json'), out);
    const r = await wafer(args(out), { cwd: dir });
    expect(r.stderr).toBe(`${message(out)}\n`);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(2);
    expect(readdirSync(dir)).toEqual(['mine.json']);
    expect(readFileSync(out, 'utf8')).toBe(userFile);
  }
  it('wafer compile --out', async () => {
    await expectRefused((out) => ['compile', '--model', TINY, '--fabric', 'mini-8', '--out', out], (out) => `error: file exists: ${out} (--out): pass --force to overwrite it, or choose another path`);
  });
  it('wafer faults --out', async () => {
    await expectRefused((out) => ['faults', '--fabric', 'mini-8', '--density', '0.05', '--out', out], (out) => `error: file exists: ${out} (--out): pass --force to overwrite it, or choose another path`);
  });
  it('wafer compare --out', async () => {
    await expectRefused((out) => ['compare', '--model', 'toy-moe', '--fabrics', 'mini-64,h100', '--out', out], (out) => `error: file exists: ${out} (--out): pass --force to overwrite it, or choose another path`);
  });
  it('wafer report, whose default output is wafer-report.html in the current directory', async () => {
    const dir = caseDir();
    writeFileSync(join(dir, 'wafer-report.html'), userFile);
    const r = await wafer(['report', '--model', TINY, '--fabric', 'mini-8', '--prompt', '1,2', '--tokens', '2', '--workers', '0'], { cwd: dir });
    expect(r.stderr).toBe('error: file exists: wafer-report.html (--out): pass --force to overwrite it, or choose another path\n');
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(readdirSync(dir)).toEqual(['wafer-report.html']);
    expect(readFileSync(join(dir, 'wafer-report.html'), 'utf8')).toBe(userFile);
  });
  it('wafer model init --out onto an existing directory', async () => {
    const dir = caseDir();
    writeFileSync(join(dir, 'config.json'), userFile);
    const r = await wafer(['model', 'init', 'toy-dense', '--out', dir], { cwd: dir });
    expect(r.stderr).toBe(`error: output directory already exists (--out ${dir}): choose a new directory or pass --force to overwrite\n`);
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(readdirSync(dir)).toEqual(['config.json']);
    expect(readFileSync(join(dir, 'config.json'), 'utf8')).toBe(userFile);
  });
  it('an --out under a file (not a directory) is bad input, not a crash', async () => {
    await expectBadInput(
      () => ['faults', '--fabric', 'mini-8', '--density', '0.05', '--out', join(f('user-file.json'), 'map.json')],
      `error: cannot write the output: a parent of the path is a file, not a directory (--out ${join(f('user-file.json'), 'map.json')}): choose a path in a writable directory`,
    );
    expect(readFileSync(f('user-file.json'), 'utf8')).toBe(userFile);
  });
});

describe.concurrent("commander's usage errors follow the same one-line format", () => {
  it('an unknown option (with a suggestion)', async () => {
    await expectBadInput(() => ['compile', '--model', TINY, '--fabric', 'mini-8', '--jsn'], 'error: unknown option \'--jsn\' (wafer compile): did you mean --json? or run "wafer compile --help" for the usage');
  });
  it('a missing required option', async () => {
    await expectBadInput(() => ['compile', '--model', TINY], 'error: missing required option (--fabric): give --fabric <name|file>; run "wafer compile --help" for the usage');
  });
  it('an option without its value', async () => {
    await expectBadInput(() => ['generate', '--prompt', '1,2', '--model'], 'error: option needs a value (--model): give --model <dir|preset>');
  });
  it('an unknown command', async () => {
    const dir = caseDir();
    const r = await wafer(['complie'], { cwd: dir });
    expect(r.stderr).toMatch(/^error: unknown command 'complie' \(wafer\): did you mean compile\? use one of demo, model, generate, compile, faults, run, gpu, [a-z, ]+\n$/);
    expect([r.code, r.stdout, readdirSync(dir)]).toEqual([2, '', []]);
  });
  it('an unknown subcommand', async () => {
    await expectBadInput(() => ['model', 'lst'], "error: unknown command 'lst' (wafer model): did you mean list? use one of list, show, init");
  });
});
