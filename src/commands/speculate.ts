// `wafer speculate`: speculative greedy decoding of one model on wafers and GPUs — at real size from a given acceptance
// (tokens/s per user, speedup, best k), or with --mesh on the cycle-level mesh with real numbers (measured acceptance,
// the output checked token for token against plain greedy decoding).
import { Command } from 'commander';
import { InputError } from '../../fabric/errors.js';
import { decodeStudy } from '../../compiler/decode/study.js';
import { printJson, printText, progress } from '../io/output.js';
import { parseIntOption, parseTokenList } from '../io/parse.js';
import { addDecodeOptions, parseDecodeOptions, type DecodeCliOptions } from '../decode/options.js';
import { formatSpeculate } from '../decode/format.js';
import { formatMeshSpeculation, speculateOnMesh } from '../decode/meshSpeculate.js';
import { action } from './action.js';

interface Options extends DecodeCliOptions {
  mesh: boolean;
  prompt: string;
  tokens: string;
  draftDtype: string;
  maxSeq: string;
  draftWeightsSeed: string;
}

export function register(program: Command): void {
  const cmd = addDecodeOptions(new Command('speculate').description('speculative greedy decoding on wafers and GPUs: tokens/s per user, speedup and best k; --mesh runs it cycle by cycle with real numbers'))
    .option('--mesh', 'run on the mesh engine with real numbers (a runnable model, one wafer fabric): draft = the target quantised to --draft-dtype', false)
    .option('--prompt <ids>', 'with --mesh: prompt token ids', '1,2,3')
    .option('--tokens <N>', 'with --mesh: tokens to generate', '16')
    .option('--draft-dtype <dtype>', 'with --mesh: the draft\'s weights (the target\'s own, quantised): int8 | bf16', 'int8')
    .option('--draft-weights-seed <N>', 'with --mesh: the draft\'s synthetic weights seed (another seed than the target\'s 0 gives a draft that disagrees)', '0')
    .option('--max-seq <N>', 'with --mesh: KV positions each program holds', '64')
    .addHelpText(
      'after',
      '\nExamples:\n  npx wafer speculate --model llama-3.1-8b --fabrics wse3,h100 --k 4 --acceptance 0.8 --json\n  npx wafer speculate --model llama-3.1-70b --draft llama-3.1-8b --fabrics wse3,h100,b200\n  npx wafer speculate --model toy-dense --fabrics mini-64 --mesh --k 3 --tokens 16',
    );
  action<Options>(cmd, async (o, g) => {
    if (o.mesh) {
      const priced = (['acceptance', 'draft', 'draftFraction', 'block', 'steps', 'overheadPasses', 'gpus', 'context'] as const).find((k) => o[k] !== undefined);
      if (priced) throw new InputError(`--${priced.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} does not apply with --mesh`, '--mesh', 'the mesh run measures acceptance with the target quantised as its draft: leave the option out, or drop --mesh');
      const r = await speculateOnMesh({ model: o.model, fabric: o.fabrics, prompt: parseTokenList(o.prompt), tokens: parseIntOption(o.tokens, '--tokens', 1), k: parseIntOption(o.k ?? '4', '--k', 1), draftDtype: o.draftDtype, maxSeq: parseIntOption(o.maxSeq, '--max-seq', 1), draftWeightsSeed: parseIntOption(o.draftWeightsSeed, '--draft-weights-seed', 0) });
      if (g.json) printJson(r);
      else printText(formatMeshSpeculation(r));
      return;
    }
    const { model, fabrics, options } = parseDecodeOptions(o);
    const bar = progress(g, 'speculate');
    const s = decodeStudy(model, fabrics, options, (d, t) => bar.update(d, t));
    bar.end();
    if (g.json) printJson(s);
    else printText(formatSpeculate(s));
  });
  program.addCommand(cmd);
}
