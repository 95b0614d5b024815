// Functions short enough to hold in one's head (docs/design.md#rules-of-the-house): in compiler/ and fabric/ no
// function, method, constructor or arrow function runs past 150 lines unless the comment just above it says why,
// starting "Longer than ~150 lines:" (or "Longer than ~150 lines on purpose:") and giving the reason after the colon.
import { describe, expect, it } from 'vitest';
import { functionSpans, parseSources, type FunctionSpan } from './sourceAst.js';

const MAX_LINES = 150;
const REASON = /^Longer than ~150 lines[^:]*:\s*\S/;

const spans: FunctionSpan[] = parseSources(['compiler', 'fabric']).flatMap(functionSpans);

function hasReason(s: FunctionSpan): boolean {
  const i = s.comments.findIndex((c) => /^Longer than ~150 lines/.test(c));
  return i >= 0 && REASON.test(s.comments.slice(i).join(' '));
}

describe('function length in compiler/ and fabric/', () => {
  it('finds the functions (the walk sees methods, constructors and arrows, with their lengths)', () => {
    expect(spans.length).toBeGreaterThan(500);
    expect(spans.some((s) => s.name.endsWith(' constructor'))).toBe(true);
    expect(spans.some((s) => s.name.includes('.'))).toBe(true);
    for (const s of spans) expect(s.lines).toBeGreaterThanOrEqual(1);
  });

  it(`no function is longer than ${MAX_LINES} lines without a written reason`, () => {
    const long = spans.filter((s) => s.lines > MAX_LINES && !hasReason(s)).map((s) => `${s.file}:${s.line} ${s.name} (${s.lines} lines)`);
    expect(long, 'split these, or write "Longer than ~150 lines: <why>" just above them').toEqual([]);
  });

  it('every written reason sits above a function that needs one', () => {
    const stale = spans.filter((s) => s.lines <= MAX_LINES && s.comments.some((c) => /^Longer than ~150 lines/.test(c))).map((s) => `${s.file}:${s.line} ${s.name} (${s.lines} lines)`);
    expect(stale, 'these are short now: drop the comment').toEqual([]);
  });
});
