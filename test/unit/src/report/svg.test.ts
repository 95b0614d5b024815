// SVG helpers: escaping, element strings, scales, ticks, number formats, colour ramps.
import { describe, expect, it } from 'vitest';
import { el, esc, formatParams, formatSi, heatColour, linearScale, linearTicks, logDomain, logScale, logTicks, paletteColour, polyline, px } from '../../../../src/report/svg.js';

describe('svg helpers', () => {
  it('escapes XML special characters in text and attributes', () => {
    expect(esc(`a<b & "c" 'd'>`)).toBe('a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;');
    expect(el('text', { x: 1.234567, title: 'a"b', skip: undefined }, esc('<x>'))).toBe('<text x="1.23" title="a&quot;b">&lt;x&gt;</text>');
    expect(el('rect', { width: 2 })).toBe('<rect width="2"/>');
    expect(px(10.005)).toBe('10.01');
  });

  it('maps linear and log domains onto ranges (y ranges may be inverted)', () => {
    const x = linearScale([0, 10], [100, 200]);
    expect(x(0)).toBe(100);
    expect(x(5)).toBe(150);
    const y = logScale([1, 1000], [300, 0]);
    expect(y(1)).toBe(300);
    expect(y(10)).toBeCloseTo(200, 10);
    expect(y(1000)).toBeCloseTo(0, 10);
    expect(y.log).toBe(true);
  });

  it('widens a log domain to powers of ten and lists the decades', () => {
    expect(logDomain([3.2, 4100])).toEqual([1, 10000]);
    expect(logDomain([50, 50])).toEqual([10, 100]);
    expect(logDomain([0, -1, NaN])).toEqual([1, 10]);
    expect(logTicks(1, 10000)).toEqual([1, 10, 100, 1000, 10000]);
    expect(logTicks(1e6, 1e13)).toHaveLength(8);
  });

  it('picks round linear ticks', () => {
    expect(linearTicks(0, 100, 10)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(linearTicks(0, 0.83, 6)).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
    expect(linearTicks(5, 5)).toEqual([5]);
  });

  it('formats numbers with SI suffixes and parameter counts with B', () => {
    expect(formatSi(0)).toBe('0');
    expect(formatSi(1234)).toBe('1.2k');
    expect(formatSi(16405)).toBe('16k');
    expect(formatSi(734549)).toBe('735k');
    expect(formatSi(0.0123)).toBe('0.012');
    expect(formatParams(70.6e9)).toBe('71B');
    expect(formatParams(8.03e9)).toBe('8B');
    expect(formatParams(124e6)).toBe('124M');
    expect(formatParams(1.03e12)).toBe('1T');
  });

  it('ramps heat colours from pale yellow to dark red, grey for no data', () => {
    expect(heatColour(0)).toBe('#ffffe5');
    expect(heatColour(1)).toBe('#800026');
    expect(heatColour(2)).toBe('#800026');
    expect(heatColour(NaN)).toBe('#bbbbbb');
    expect(paletteColour(0)).toBe(paletteColour(12));
    expect(polyline([], {})).toBe('');
    expect(polyline([[0, 1], [2.5, 3]], { stroke: 'red' })).toBe('<polyline points="0,1 2.5,3" fill="none" stroke="red"/>');
  });
});
