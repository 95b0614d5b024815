// `wafer model list|show|init`: the model presets, a normalised config with its parameter counts, and synthetic
// Hugging Face-format checkpoints (config.json + model.safetensors) written atomically.
import type { Command } from 'commander';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '../../fabric/errors.js';
import { countParameters, type ModelConfig, type ParameterCount } from '../../compiler/model/config.js';
import { assertPresetRunnable, isDirectory, resolveModelConfig } from '../io/loadModel.js';
import { findPreset, getPreset, listPresets } from '../../compiler/model/presets.js';
import { headerLength, parseSafetensorsHeader, type SafetensorsHeader } from '../../compiler/model/safetensors.js';
import { syntheticWeights } from '../../compiler/model/synthetic.js';
import { castWeights, weightsToSafetensors } from '../../compiler/model/weights.js';
import type { WeightDtype } from '../../kernels/index.js';
import { assertParentFolder, writeError, writeFileAtomic } from '../io/atomicWrite.js';
import { printJson, printText } from '../io/output.js';
import { parseSeedOption } from '../io/parse.js';
import { action } from './action.js';

const FILE_DTYPES = ['f32', 'bf16', 'f16'] as const;

/** Parses a weight dtype option against the allowed list. */
export function parseDtypeOption<D extends WeightDtype>(value: string, allowed: readonly D[], option = '--dtype'): D {
  if (!(allowed as readonly string[]).includes(value)) throw new InputError(`unsupported dtype "${value}"`, option, `use one of ${allowed.join(', ')}`);
  return value as D;
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

/** Reads only the header of a safetensors file (a large checkpoint is not loaded to be described). */
function readHeaderOnly(path: string): SafetensorsHeader {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const first = new Uint8Array(Math.min(8, size));
    readSync(fd, first, 0, first.length, 0);
    const n = headerLength(first, size, path);
    const prefix = new Uint8Array(8 + n);
    readSync(fd, prefix, 0, prefix.length, 0);
    return parseSafetensorsHeader(prefix, size, path);
  } finally {
    closeSync(fd);
  }
}

interface CheckpointSummary {
  file: string;
  tensors: number;
  bytes: number;
  dtypes: Record<string, number>;
  gaps: number;
}

function describeCheckpoint(dir: string): CheckpointSummary | null {
  const file = join(dir, 'model.safetensors');
  if (!existsSync(file)) return null;
  const h = readHeaderOnly(file);
  const dtypes: Record<string, number> = {};
  for (const e of h.entries) dtypes[e.dtype] = (dtypes[e.dtype] ?? 0) + 1;
  return { file, tensors: h.entries.length, bytes: h.dataBytes, dtypes, gaps: h.gaps.length };
}

function configLines(cfg: ModelConfig, p: ParameterCount): string[] {
  const lines = [
    `model            ${cfg.name} (${cfg.family})`,
    `layers           ${cfg.numLayers}`,
    `hidden           ${cfg.hiddenSize}`,
    `heads            ${cfg.numHeads} query, ${cfg.numKvHeads} key/value, head dim ${cfg.headDim}`,
    `intermediate     ${cfg.intermediateSize}`,
    `vocabulary       ${cfg.vocabSize}`,
    `rms norm eps     ${cfg.rmsNormEps}`,
    `rope theta       ${cfg.ropeTheta}`,
    `max positions    ${cfg.maxPositionEmbeddings}`,
    `tied embeddings  ${cfg.tieWordEmbeddings ? 'yes' : 'no'}`,
  ];
  if (cfg.qkNorm) lines.push('q/k norms        yes');
  if (cfg.attentionBias) lines.push(`attention bias   q,k,v${cfg.attentionOutputBias ? ',o' : ''}`);
  if (cfg.slidingWindow) lines.push(`sliding window   ${cfg.slidingWindow} (${cfg.layerTypes.filter((t) => t === 'sliding').length} of ${cfg.numLayers} layers)`);
  if (cfg.moe) {
    const m = cfg.moe;
    let s = `${m.numExperts} experts, top-${m.topK}, expert intermediate ${m.expertIntermediateSize}${m.normTopkProb ? ', renormalised' : ''}`;
    if (m.numSharedExperts) s += `, ${m.numSharedExperts} shared (${m.sharedIntermediateSize})`;
    if (m.firstDenseLayers) s += `, first ${m.firstDenseLayers} layer(s) dense (${m.denseIntermediateSize})`;
    lines.push(`mixture of experts ${s}`);
  }
  if (cfg.mla) {
    const a = cfg.mla;
    lines.push(`MLA              q rank ${a.qLoraRank}, kv rank ${a.kvLoraRank}, qk nope ${a.qkNopeHeadDim} + rope ${a.qkRopeHeadDim}, v ${a.vHeadDim}`);
  }
  if (cfg.expertDtype) lines.push(`expert weights   ${cfg.expertDtype}`);
  const b = p.byKind;
  lines.push(
    `parameters       ${formatCount(p.total)} total, ${formatCount(p.activePerToken)} active per token`,
    `  by kind        embedding ${formatCount(b.embedding)}, attention ${formatCount(b.attention)}, mlp ${formatCount(b.mlp)}, experts ${formatCount(b.experts)}, router ${formatCount(b.router)}, norms ${formatCount(b.norms)}, lm_head ${formatCount(b.lmHead)}`,
  );
  return lines;
}

/** Writes config.json and model.safetensors into `out`: a new directory appears whole (temp dir + rename); with
 * --force into an existing directory, each file is replaced atomically and other files are left alone. */
function writeModelDir(out: string, force: boolean, files: Record<string, string | Uint8Array>): void {
  const target = resolve(out);
  if (existsSync(target)) {
    if (!force) throw new InputError('output directory already exists', `--out ${out}`, 'choose a new directory or pass --force to overwrite');
    if (!statSync(target).isDirectory()) throw new InputError('output path exists and is not a directory', `--out ${out}`, 'choose a directory path');
    for (const [name, data] of Object.entries(files)) writeFileAtomic(join(target, name), data);
    return;
  }
  assertParentFolder(out, '--out');
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${Date.now()}`);
  try {
    mkdirSync(tmp);
    for (const [name, data] of Object.entries(files)) writeFileSync(join(tmp, name), data);
    renameSync(tmp, target);
  } catch (e) {
    try {
      rmSync(tmp, { recursive: true, force: true });
    } catch {
      // nothing was created
    }
    throw writeError(e, out, '--out');
  }
}

interface InitOptions {
  out: string;
  seed: string;
  dtype: string;
  force?: boolean;
}

export function register(program: Command): void {
  const model = program
    .command('model')
    .description('model presets, configs and synthetic checkpoints')
    .addHelpText('after', '\nExamples:\n  npx wafer model list\n  npx wafer model show llama-3.1-70b\n  npx wafer model init toy-moe --out /tmp/m');

  action(model.command('list').description('list the model presets').addHelpText('after', '\nExample:\n  npx wafer model list --json'), (_opts, g) => {
    const rows = listPresets().map((p) => {
      const cfg = getPreset(p.name);
      const n = countParameters(cfg);
      return { name: p.name, family: cfg.family, runnable: p.runnable, parameters: n.total, activeParameters: n.activePerToken, description: p.description, source: p.source };
    });
    if (g.json) return printJson({ presets: rows });
    const w = Math.max(...rows.map((r) => r.name.length));
    printText(rows.map((r) => `${r.name.padEnd(w)}  ${r.family.padEnd(9)} ${formatCount(r.parameters).padStart(8)}  ${r.runnable ? 'weights' : 'config '}  ${r.description}`).join('\n'));
  });

  action(
    model
      .command('show')
      .description('print the normalised config and parameter counts of a preset, model directory or config.json')
      .argument('<model>', 'preset name, model directory, or path to a config.json')
      .addHelpText('after', '\nExamples:\n  npx wafer model show qwen3-235b-a22b\n  npx wafer model show /tmp/m --json        # a directory from wafer model init'),
    (_opts, g, args) => {
      const spec = args[0];
      const cfg = resolveModelConfig(spec, '<model>');
      const parameters = countParameters(cfg);
      const checkpoint = isDirectory(spec) ? describeCheckpoint(spec) : null;
      const preset = findPreset(spec);
      if (g.json) return printJson({ config: cfg, parameters, ...(preset ? { preset: { source: preset.source, runnable: preset.runnable } } : {}), ...(checkpoint ? { checkpoint } : {}) });
      const lines = configLines(cfg, parameters);
      if (preset) lines.push(`source           ${preset.source}`);
      if (checkpoint) {
        const d = Object.entries(checkpoint.dtypes).map(([k, v]) => `${v} ${k}`).join(', ');
        lines.push(`checkpoint       ${checkpoint.tensors} tensors (${d}), ${formatCount(checkpoint.bytes)}B${checkpoint.gaps ? `, ${checkpoint.gaps} gap(s)` : ''}`);
      }
      printText(lines.join('\n'));
    },
  );

  action<InitOptions>(
    model
      .command('init')
      .description('write a seeded synthetic checkpoint of a preset: DIR/config.json and DIR/model.safetensors')
      .argument('<preset>', 'a runnable preset (toy-dense, toy-moe, gpt2-small-dense)')
      .requiredOption('--out <dir>', 'output directory (must not exist unless --force)')
      .option('--seed <n>', 'seed of the synthetic weights', '0')
      .option('--dtype <dtype>', `stored dtype: ${FILE_DTYPES.join(', ')}`, 'f32')
      .option('--force', 'write into an existing directory, replacing its config.json and model.safetensors')
      .addHelpText('after', '\nExample:\n  npx wafer model init toy-moe --out /tmp/m && npx wafer generate --model /tmp/m --prompt 1,2,3 --tokens 16'),
    (opts, g, args) => {
      const name = args[0];
      const cfg = getPreset(name, '<preset>');
      assertPresetRunnable(name, '<preset>');
      const seed = parseSeedOption(opts.seed);
      const dtype = parseDtypeOption(opts.dtype, FILE_DTYPES);
      const target = resolve(opts.out);
      if (existsSync(target) && !opts.force) throw new InputError('output directory already exists', `--out ${opts.out}`, 'choose a new directory or pass --force to overwrite');
      const weights = castWeights(syntheticWeights(cfg, seed), dtype);
      const hf = { ...findPreset(name)!.hfConfig, _name_or_path: name, torch_dtype: { f32: 'float32', bf16: 'bfloat16', f16: 'float16' }[dtype] };
      const st = weightsToSafetensors(weights, { generator: 'wafer model init', preset: name, seed: String(seed) });
      writeModelDir(opts.out, opts.force === true, { 'config.json': JSON.stringify(hf, null, 2) + '\n', 'model.safetensors': st });
      const summary = { out: target, preset: name, seed, dtype, parameters: countParameters(cfg).total, bytes: st.length };
      if (g.json) return printJson(summary);
      if (!g.quiet) printText(`wrote ${name} (seed ${seed}, ${dtype}, ${formatCount(summary.parameters)} parameters, ${formatCount(st.length)}B) to ${target}`);
    },
  );
}
