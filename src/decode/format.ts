// Text tables of the decoding studies (compiler/decode/study.ts) for the terminal: pure string building.
import type { AgentStudy, DecodeStudy, FabricDecode } from '../../compiler/decode/study.js';
import type { Acceptance } from '../../compiler/decode/strategies.js';

export const rate = (v: number) => (v >= 100 ? v.toFixed(0) : v.toPrecision(3));
export const times = (v: number) => `${v.toFixed(2)}×`;

export function seconds(s: number): string {
  if (s >= 1) return `${s.toFixed(2)} s`;
  if (s >= 1e-3) return `${(s * 1e3).toFixed(2)} ms`;
  return `${(s * 1e6).toFixed(1)} µs`;
}

export function table(head: string[], body: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), ...body.map(line)];
}

export function acceptanceText(a: Acceptance): string {
  return typeof a === 'number' ? `α ${a}` : `α curve ${a.join(',')}`;
}

function devices(f: FabricDecode): string {
  return `${f.devices} ${f.kind === 'gpu' ? 'GPU' : 'wafer'}${f.devices > 1 ? 's' : ''}`;
}

function draftText(f: FabricDecode): string {
  const d = f.draft;
  const what = d.model ? `${d.model} on the same ${f.kind === 'gpu' ? 'GPUs' : 'fabric'}` : `${d.fraction} × the target`;
  const tiles = d.tiles !== null && d.spareTiles !== null ? `, ${d.tiles} tiles (${d.spareTiles} free beside the target)` : '';
  return `${what}: ${seconds(d.stepSeconds)} per draft step${tiles}`;
}

export function formatSpeculate(s: DecodeStudy): string {
  const lines = [`${s.model}: speculative greedy decoding, k ${s.k}, ${acceptanceText(s.acceptance)}, context ${s.context}`, ''];
  const body = s.fabrics.map((f) => [
    f.fabric,
    devices(f),
    rate(f.plain.tokensPerSecond),
    seconds(f.passSeconds[0]),
    seconds(f.speculative.verifySeconds),
    f.speculative.tokensPerPass.toFixed(2),
    rate(f.speculative.tokensPerSecond),
    times(f.speculative.speedup),
    `k ${f.bestSpeculative.k}: ${rate(f.bestSpeculative.tokensPerSecond)} (${times(f.bestSpeculative.speedup)})`,
  ]);
  lines.push(...table(['fabric', 'devices', 'plain tok/s', 'step', `verify (${s.k + 1} pos)`, 'tokens/pass', 'spec tok/s', 'speedup', 'best k'], body));
  lines.push('', 'drafts:', ...s.fabrics.map((f) => `  ${f.fabric}: ${draftText(f)}`));
  lines.push('sources:', ...[...new Set(s.fabrics.map((f) => f.method))].map((m) => `  ${m}`));
  lines.push('notes:', ...s.notes.map((n) => `  ${n}`));
  return lines.join('\n');
}

export function formatDiffuse(s: DecodeStudy): string {
  const o = s.diffusionOptions;
  const lines = [`${s.model}: block diffusion, block ${o.block}, ${o.steps} steps, ${o.overheadPasses} overhead pass${o.overheadPasses === 1 ? '' : 'es'} per block, context ${s.context}`, ''];
  const body = s.fabrics.map((f) => [f.fabric, devices(f), rate(f.plain.tokensPerSecond), seconds(f.passSeconds[0]), seconds(f.diffusion.passSeconds), seconds(f.diffusion.blockSeconds), rate(f.diffusion.tokensPerSecond), times(f.diffusion.speedup)]);
  lines.push(...table(['fabric', 'devices', 'plain tok/s', 'step', `pass (${o.block} pos)`, 'block', 'tok/s', 'speedup'], body));
  lines.push('sources:', ...[...new Set(s.fabrics.map((f) => f.method))].map((m) => `  ${m}`));
  lines.push('notes:', `  ${s.notes[1]}`);
  return lines.join('\n');
}

/** The stacked table: plain, speculative, diffusion and both, per fabric. */
export function formatStacked(s: DecodeStudy): string {
  const o = s.diffusionOptions;
  const lines = [
    `${s.model}: tokens/s per user (speedup over plain) on each fabric, context ${s.context}`,
    `speculative: k ${s.k}, ${acceptanceText(s.acceptance)}; diffusion: block ${o.block}, ${o.steps} steps; both: a diffusion draft of block ${o.block} verified by the target`,
    '',
  ];
  const cell = (v: number, x: number) => `${rate(v)} (${times(x)})`;
  const body = s.fabrics.map((f) => [f.fabric, devices(f), rate(f.plain.tokensPerSecond), cell(f.speculative.tokensPerSecond, f.speculative.speedup), `${cell(f.bestSpeculative.tokensPerSecond, f.bestSpeculative.speedup)} k ${f.bestSpeculative.k}`, cell(f.diffusion.tokensPerSecond, f.diffusion.speedup), cell(f.both.tokensPerSecond, f.both.speedup)]);
  lines.push(...table(['fabric', 'devices', 'plain', 'speculative', 'best k', 'diffusion', 'both'], body));
  lines.push('', 'drafts:', ...s.fabrics.map((f) => `  ${f.fabric}: ${draftText(f)}`));
  lines.push('notes:', ...s.notes.map((n) => `  ${n}`));
  return lines.join('\n');
}

export function formatAgent(a: AgentStudy): string {
  const t = a.task;
  const tl = t.toolLatency;
  const tool = tl.kind === 'fixed' ? `${tl.seconds} s` : tl.kind === 'uniform' ? `uniform ${tl.minSeconds}–${tl.maxSeconds} s` : tl.kind === 'exponential' ? `exponential, mean ${tl.meanSeconds} s` : `lognormal, median ${tl.medianSeconds} s, σ ${tl.sigma}`;
  const lines = [
    `${a.model}: an agent task of ${t.calls} calls (prompt ${t.promptTokens} tokens, ${t.outputTokensPerCall} output and ${t.toolResultTokens} tool-result tokens per call, tool ${tool}, seed ${t.seed}), ${a.context} tokens at the end`,
    `wall time split; prefix cache ${t.prefixCache ? 'on' : 'off'} (the other setting's total in the last column); total tool latency ${a.toolSecondsTotal.toFixed(2)} s`,
    '',
  ];
  const body = a.fabrics.flatMap((f) =>
    f.levers.map((l) => {
      const w = t.prefixCache ? l.withPrefixCache : l.withoutPrefixCache;
      const other = t.prefixCache ? l.withoutPrefixCache : l.withPrefixCache;
      return [f.fabric, l.lever, rate(l.decodeTokensPerSecond), seconds(w.prefill), seconds(w.decode), seconds(w.tool), seconds(w.overhead), seconds(w.total), `${Math.round((100 * w.tool) / w.total)}%`, seconds(other.total)];
    }),
  );
  lines.push(...table(['fabric', 'lever', 'decode tok/s', 'prefill', 'decode', 'tool', 'overhead', 'total', 'tool share', t.prefixCache ? 'no cache' : 'with cache'], body));
  lines.push('notes:', ...a.notes.map((n) => `  ${n}`));
  return lines.join('\n');
}
