// The agent chart of `wafer agent --out`: an agent task's wall time against decode tokens/s (50 … 20,000, log-log),
// one curve per fabric (its own prefill cost), a marker for each decoding lever where that fabric reaches, and the
// floor no decode speed goes under: the tool latency plus the per-call overhead. Drawing only: the data is
// compiler/decode/study.ts's AgentStudy.
import type { AgentStudy } from '../../compiler/decode/study.js';
import { axes, el, formatSi, legend, logDomain, logScale, logTicks, paletteColour, polyline, px, svgRoot, text } from './svg.js';

const WIDTH_PX = 760;
const HEIGHT_PX = 480;
const PLOT = { x0: 80, x1: 560, top: 50, bottom: 400 };
const MARKERS: Record<string, (x: number, y: number, colour: string) => string> = {
  plain: (x, y, c) => el('circle', { cx: x, cy: y, r: 4, fill: c }),
  speculative: (x, y, c) => el('rect', { x: x - 4, y: y - 4, width: 8, height: 8, fill: c }),
  diffusion: (x, y, c) => el('polygon', { points: `${px(x)},${px(y - 5)} ${px(x + 5)},${px(y + 4)} ${px(x - 5)},${px(y + 4)}`, fill: c }),
};

export function agentChartSvg(a: AgentStudy): string {
  const rates = a.fabrics.flatMap((f) => [...f.curve.map((p) => p.decodeTokensPerSecond), ...f.levers.map((l) => l.decodeTokensPerSecond)]);
  const walls = a.fabrics.flatMap((f) => [...f.curve.map((p) => p.wallSeconds), ...f.levers.map((l) => (a.task.prefixCache ? l.withPrefixCache : l.withoutPrefixCache).total)]);
  const floor = a.toolSecondsTotal + a.task.calls * a.task.overheadSecondsPerCall;
  // The sweep's own range (50 … 20,000 tokens/s, wider if a lever lands outside it), not whole decades: the bend is the point.
  const x = logScale([Math.min(...rates) / 1.1, Math.max(...rates) * 1.1], [PLOT.x0, PLOT.x1]);
  const yValues = [...walls, ...(floor > 0 ? [floor] : [])];
  const y = logScale([Math.min(...yValues) / 1.25, Math.max(...yValues) * 1.25], [PLOT.bottom, PLOT.top]);
  const ticks = (lo: number, hi: number) => logTicks(...logDomain([lo, hi])).flatMap((d) => [d, 2 * d, 5 * d]).filter((t) => t >= lo && t <= hi);
  const parts: string[] = [
    text(PLOT.x0, 22, `${a.model}: an agent task of ${a.task.calls} calls — wall time against decode speed`, { 'font-size': 14, 'font-weight': 'bold' }),
    text(PLOT.x0, 38, `prefix cache ${a.task.prefixCache ? 'on' : 'off'}; ${a.toolSecondsTotal.toFixed(1)} s of tool calls; markers: each fabric under each lever`, { fill: '#555' }),
    axes({ x, y, xLabel: 'decode tokens/s per user', yLabel: 'task wall time (s)', xTicks: ticks(...x.domain), yTicks: ticks(...y.domain), xFormat: formatSi, yFormat: formatSi }),
  ];
  if (floor > 0) {
    parts.push(el('line', { x1: PLOT.x0, y1: y(floor), x2: PLOT.x1, y2: y(floor), stroke: '#222', 'stroke-dasharray': '2 3' }));
    parts.push(text(PLOT.x0 + 4, y(floor) + 13, 'floor: tools + overhead', { fill: '#222' }));
  }
  const entries: { label: string; colour: string; dash?: string; marker?: boolean }[] = [];
  a.fabrics.forEach((f, i) => {
    const c = paletteColour(i);
    parts.push(polyline(f.curve.map((p) => [x(p.decodeTokensPerSecond), y(p.wallSeconds)]), { stroke: c, 'stroke-width': 2 }));
    for (const l of f.levers) {
      const w = a.task.prefixCache ? l.withPrefixCache : l.withoutPrefixCache;
      parts.push(MARKERS[l.lever](x(l.decodeTokensPerSecond), y(w.total), c));
    }
    entries.push({ label: `${f.fabric} (${f.devices} ${f.kind === 'gpu' ? 'GPU' : 'wafer'}${f.devices > 1 ? 's' : ''})`, colour: c });
  });
  parts.push(legend(PLOT.x1 + 24, PLOT.top + 10, entries));
  const ly = PLOT.top + 20 + 15 * entries.length;
  Object.entries(MARKERS).forEach(([lever, draw], i) => parts.push(draw(PLOT.x1 + 33, ly + i * 16, '#555'), text(PLOT.x1 + 47, ly + i * 16 + 4, lever)));
  return svgRoot(WIDTH_PX, HEIGHT_PX, {}, parts);
}
