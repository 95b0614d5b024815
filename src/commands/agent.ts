// `wafer agent`: an agent task of N model calls with growing prompts and tool calls between them, on wafers and GPUs
// under each decoding lever — its wall time split into prefill, decode, tool and overhead, and (--out) the chart of
// wall time against decode speed showing where faster decoding stops shortening the task.
import { Command } from 'commander';
import { agentStudy } from '../../compiler/decode/study.js';
import { assertWritable, writeFileAtomic } from '../io/atomicWrite.js';
import { printJson, printText, progress } from '../io/output.js';
import { addDecodeOptions, parseAgentTask, parseDecodeOptions, type AgentCliOptions, type DecodeCliOptions } from '../decode/options.js';
import { formatAgent } from '../decode/format.js';
import { agentChartSvg } from '../report/agentChart.js';
import { action } from './action.js';

interface Options extends DecodeCliOptions, AgentCliOptions {
  out?: string;
  force?: boolean;
}

export function register(program: Command): void {
  const cmd = addDecodeOptions(new Command('agent').description('an agent task (N calls, growing prompts, tool calls) on wafers and GPUs: wall time split into prefill, decode, tool and overhead per decoding lever'))
    .option('--calls <N>', 'model calls in the task', '20')
    .option('--tool-latency <t>', 'seconds per tool call: fixed (0.5) or uniform:MIN,MAX, exp:MEAN, lognormal:MEDIAN,SIGMA', '0.5')
    .option('--prompt-tokens <N>', 'tokens of the first call\'s prompt', '2000')
    .option('--output-tokens <N>', 'tokens each call writes', '300')
    .option('--tool-tokens <N>', 'tokens each tool result adds to the next prompt', '500')
    .option('--seed <N>', 'seed of the tool-latency draws', '1')
    .option('--no-prefix-cache', 'prefill each call\'s whole prompt again (default: only its new tokens)')
    .option('--overhead <s>', 'fixed seconds per call outside the model and the tool', '0.05')
    .option('--out <file.svg>', 'write the chart: wall time against decode tokens/s, each fabric and lever on it')
    .option('--force', 'overwrite --out if it exists', false)
    .addHelpText('after', '\nExamples:\n  npx wafer agent --model llama-3.1-70b --fabrics wse3,h100 --calls 20 --tool-latency 0.5 --json\n  npx wafer agent --model llama-3.1-8b --fabrics wse3,h100,b200 --tool-latency lognormal:0.5,1 --out agent.svg');
  action<Options>(cmd, (o, g) => {
    const task = parseAgentTask(o);
    const { model, fabrics, options } = parseDecodeOptions(o);
    if (o.out) assertWritable(o.out, o.force);
    const bar = progress(g, 'agent');
    const a = agentStudy(model, fabrics, task, options, (d, t) => bar.update(d, t));
    bar.end();
    if (o.out) writeFileAtomic(o.out, agentChartSvg(a) + '\n', { force: o.force === true, option: '--out' });
    if (g.json) printJson(a);
    else printText(formatAgent(a) + (o.out ? `\nchart written to ${o.out}` : ''));
  });
  program.addCommand(cmd);
}
