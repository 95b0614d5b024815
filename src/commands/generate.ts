// `wafer generate`: greedy decoding with the reference forward pass (the numerics truth), on a model directory or
// a runnable preset with synthetic weights of --seed.
import type { Command } from 'commander';
import { resolveModelWeights } from '../io/loadModel.js';
import { castWeights } from '../../compiler/model/weights.js';
import { generate } from '../../compiler/reference/forward.js';
import type { WeightDtype } from '../../kernels/index.js';
import { printJson, printText } from '../io/output.js';
import { MAX_RUN_TOKENS, parseIntOption, parseSeedOption, parseTokenList } from '../io/parse.js';
import { action } from './action.js';
import { parseDtypeOption } from './model.js';

const RUN_DTYPES: readonly WeightDtype[] = ['f32', 'bf16', 'f16', 'int8'];

interface GenerateOptions {
  model: string;
  prompt: string;
  tokens: string;
  dtype?: string;
  seed: string;
  logits?: boolean;
}

export function register(program: Command): void {
  action<GenerateOptions>(
    program
      .command('generate')
      .description('greedy-decode tokens with the reference forward pass')
      .requiredOption('--model <dir|preset>', 'model directory (config.json + model.safetensors) or runnable preset')
      .requiredOption('--prompt <ids>', 'prompt token ids, comma-separated, e.g. 1,2,3')
      .option('--tokens <n>', 'tokens to generate', '16')
      .option('--dtype <dtype>', `cast the weight matrices to ${RUN_DTYPES.join(', ')} (default: as stored)`)
      .option('--seed <n>', 'seed of the synthetic weights when --model is a preset (same weights as model init --seed)', '0')
      .option('--logits', 'also print the logits of the last step')
      .addHelpText('after', '\nExample:\n  npx wafer generate --model toy-moe --prompt 1,2,3 --tokens 16 --json'),
    (opts, g) => {
      const seed = parseSeedOption(opts.seed);
      const tokens = parseIntOption(opts.tokens, '--tokens', 1, MAX_RUN_TOKENS);
      const dtype = opts.dtype === undefined ? undefined : parseDtypeOption(opts.dtype, RUN_DTYPES);
      const loaded = resolveModelWeights(opts.model, { seed, option: '--model' });
      const prompt = parseTokenList(opts.prompt, '--prompt', loaded.weights.config.vocabSize);
      const weights = dtype ? castWeights(loaded.weights, dtype) : loaded.weights;
      const t0 = performance.now();
      const result = generate(weights, prompt, tokens);
      const seconds = (performance.now() - t0) / 1000;
      if (g.json) {
        printJson(opts.logits ? { tokens: result.tokens, logits: Array.from(result.lastLogits) } : { tokens: result.tokens });
        return;
      }
      printText(result.tokens.join(','));
      if (opts.logits) printText(`logits: ${Array.from(result.lastLogits, (v) => v.toPrecision(6)).join(',')}`);
      if (!g.quiet) {
        const cfg = weights.config;
        const from = loaded.origin.kind === 'preset' ? `preset ${loaded.origin.preset}, synthetic seed ${loaded.origin.seed}` : loaded.origin.dir;
        process.stderr.write(`${cfg.name} (${cfg.family}, ${from}${dtype ? `, ${dtype} weights` : ''}): ${tokens} tokens in ${seconds.toFixed(2)} s\n`);
      }
    },
  );
}
