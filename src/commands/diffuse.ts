// `wafer diffuse`: block-diffusion decoding of one model on wafers and GPUs — a block of B tokens refined over S
// passes of B positions each: tokens/s per user and the speedup over plain decoding.
import { Command } from 'commander';
import { decodeStudy } from '../../compiler/decode/study.js';
import { printJson, printText, progress } from '../io/output.js';
import { addDecodeOptions, parseDecodeOptions, type DecodeCliOptions } from '../decode/options.js';
import { formatDiffuse } from '../decode/format.js';
import { action } from './action.js';

export function register(program: Command): void {
  const cmd = addDecodeOptions(new Command('diffuse').description('block-diffusion decoding on wafers and GPUs: B tokens refined over S passes of B positions, tokens/s per user and speedup'))
    .addHelpText('after', '\nExamples:\n  npx wafer diffuse --model llama-3.1-8b --fabrics wse3,h100 --block 32 --steps 8 --json\n  npx wafer diffuse --model qwen3-4b --fabrics wse3,h100,b200 --block 64 --steps 16');
  action<DecodeCliOptions>(cmd, (o, g) => {
    const { model, fabrics, options } = parseDecodeOptions(o);
    const bar = progress(g, 'diffuse');
    const s = decodeStudy(model, fabrics, options, (d, t) => bar.update(d, t));
    bar.end();
    if (g.json) printJson(s);
    else printText(formatDiffuse(s));
  });
  program.addCommand(cmd);
}
