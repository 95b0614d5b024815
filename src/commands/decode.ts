// `wafer decode --stacked`: one model under every decoding lever on each fabric — plain, speculative (at k and at the
// best k), block diffusion, and both (a diffusion draft verified by the target).
import { Command } from 'commander';
import { decodeStudy } from '../../compiler/decode/study.js';
import { printJson, printText, progress } from '../io/output.js';
import { addDecodeOptions, parseDecodeOptions, type DecodeCliOptions } from '../decode/options.js';
import { formatStacked } from '../decode/format.js';
import { action } from './action.js';

export function register(program: Command): void {
  const cmd = addDecodeOptions(new Command('decode').description('the stacked table: plain, speculative, diffusion and both, tokens/s per user on each wafer and GPU'))
    .option('--stacked', 'every lever side by side (the only table this command prints)', true)
    .addHelpText('after', '\nExamples:\n  npx wafer decode --model llama-3.1-8b --fabrics wse3,h100 --stacked\n  npx wafer decode --model llama-3.1-70b --draft llama-3.1-8b --fabrics wse3,h100,b200 --json');
  action<DecodeCliOptions>(cmd, (o, g) => {
    const { model, fabrics, options } = parseDecodeOptions(o);
    const bar = progress(g, 'decode');
    const s = decodeStudy(model, fabrics, options, (d, t) => bar.update(d, t));
    bar.end();
    if (g.json) printJson(s);
    else printText(formatStacked(s));
  });
  program.addCommand(cmd);
}
