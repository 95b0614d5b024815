// The NoC latency–throughput curve from `wafer noc --sweep --json`: mean and p99 latency (cycles, log) against the
// offered load (wavelets per tile per cycle); saturated points hollow; the bisection bound as a dotted line.
import type { NocSweep } from '../study/reportData.js';
import { axes, el, esc, legend, linearScale, linearTicks, logDomain, logScale, logTicks, polyline, svgRoot, text } from './svg.js';

const WIDTH_PX = 560;
const HEIGHT_PX = 320;
const PLOT = { x0: 70, x1: 540, top: 40, bottom: 250 };

export function nocChartSvg(n: NocSweep): string {
  const pts = n.sweep;
  const finite = (v: number | null): v is number => v !== null && Number.isFinite(v) && v > 0;
  const xMax = Math.max(...pts.map((p) => p.offeredRate), n.bisectionBoundRate ?? 0) * 1.05 || 1;
  const x = linearScale([0, xMax], [PLOT.x0, PLOT.x1]);
  const lat = pts.flatMap((p) => [p.meanLatencyCycles, p.p99LatencyCycles]).filter(finite);
  const y = logScale(logDomain(lat.length ? lat : [1, 10]), [PLOT.bottom, PLOT.top]);
  const series = (key: 'meanLatencyCycles' | 'p99LatencyCycles') => pts.filter((p) => finite(p[key])).map((p): [number, number] => [x(p.offeredRate), y(p[key] as number)]);
  const marks = pts
    .filter((p) => finite(p.meanLatencyCycles))
    .map((p) =>
      el(
        'circle',
        { class: p.saturated ? 'saturated' : 'point', cx: x(p.offeredRate), cy: y(p.meanLatencyCycles!), r: 3.5, fill: p.saturated ? '#fff' : '#0072B2', stroke: '#0072B2', 'stroke-width': 1.5 },
        el('title', {}, esc(`offered ${p.offeredRate.toPrecision(3)}, accepted ${p.acceptedRate.toPrecision(3)} wavelets/tile/cycle: mean ${p.meanLatencyCycles!.toFixed(1)} cycles, p99 ${p.p99LatencyCycles ?? '-'}${p.saturated ? ' (saturated)' : ''}`)),
      ),
    );
  const bound = n.bisectionBoundRate;
  const title = `NoC ${n.width}×${n.height}, ${n.pattern} traffic: latency against offered load`;
  return svgRoot(WIDTH_PX, HEIGHT_PX, { id: 'noc-curve', role: 'img', 'aria-label': title }, [
    el('rect', { x: 0, y: 0, width: WIDTH_PX, height: HEIGHT_PX, fill: '#fff' }),
    text(WIDTH_PX / 2, 20, title, { 'text-anchor': 'middle', 'font-weight': 'bold' }),
    axes({ x, y, xLabel: 'offered load (wavelets per tile per cycle)', yLabel: 'latency (cycles, log)', xTicks: linearTicks(0, xMax, 6), yTicks: logTicks(...y.domain), xFormat: (v) => String(v) }),
    polyline(series('p99LatencyCycles'), { stroke: '#D55E00', 'stroke-width': 1.5, 'stroke-dasharray': '5 3', class: 'p99' }),
    polyline(series('meanLatencyCycles'), { stroke: '#0072B2', 'stroke-width': 2, class: 'mean' }),
    el('g', { class: 'points' }, marks),
    bound !== null && bound <= xMax ? el('g', { class: 'bound' }, [el('line', { x1: x(bound), y1: PLOT.top, x2: x(bound), y2: PLOT.bottom, stroke: '#555', 'stroke-dasharray': '2 3' }), text(x(bound) - 4, PLOT.top + 12, `bisection bound ${bound.toPrecision(3)}`, { 'text-anchor': 'end', fill: '#555', 'font-size': 10 })]) : '',
    legend(PLOT.x0, HEIGHT_PX - 22, [
      { label: 'mean latency (hollow: saturated)', colour: '#0072B2', marker: true },
    ]),
    legend(PLOT.x0 + 250, HEIGHT_PX - 22, [{ label: 'p99 latency', colour: '#D55E00', dash: '5 3' }]),
  ]);
}
