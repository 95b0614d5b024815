import { describe, expect, it } from 'vitest';
import { STRIP_BLOCK_ROWS, StripExchange, exchangeLayout, stripOwners } from '../../../../fabric/mesh/strips.js';

describe('stripOwners', () => {
  it('deals blocks of whole rows round-robin, thinner when the mesh is too short for every strip to get one', () => {
    const w = 3;
    const h = 3 * STRIP_BLOCK_ROWS;
    const owner = stripOwners(w, h, 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) expect(owner[y * w + x]).toBe(Math.floor(y / STRIP_BLOCK_ROWS) % 3);
    // 4 rows, 4 strips: one row each, so no strip is left without tiles.
    const short = stripOwners(2, 4, 4);
    expect(new Set(short)).toEqual(new Set([0, 1, 2, 3]));
    expect(stripOwners(5, 5, 1).every((s) => s === 0)).toBe(true);
  });

  it('deals any block size in row-major block order', () => {
    const owner = stripOwners(4, 2, 2, { rows: 1, cols: 1 });
    expect([...owner]).toEqual([0, 1, 0, 1, 0, 1, 0, 1]);
    const wide = stripOwners(5, 4, 3, { rows: 2, cols: 2 });
    // Blocks across: 3 (the last one column wide); block (bx, by) -> (by * 3 + bx) % 3.
    expect(wide[0 * 5 + 4]).toBe(2);
    expect(wide[2 * 5 + 0]).toBe(0);
    expect(wide[3 * 5 + 3]).toBe(1);
  });
});

describe('StripExchange', () => {
  it('lays out one mailbox per ordered pair and round parity, sized by the crossing links and VCs', () => {
    const links = Int32Array.from([0, 3, 5, 0]);
    const vcs = Int32Array.from([0, 7, 2, 0]);
    const l = exchangeLayout(2, links, vcs);
    // Header, then per pair: two halves of (count + 4 words per wavelet), two halves of (count + 1 word per credit).
    expect(l.mailWords).toBe(4 + 2 * (2 * (1 + 0) + 2 * (1 + 0)) + 2 * (1 + 3 * 4) + 2 * (1 + 7) + 2 * (1 + 5 * 4) + 2 * (1 + 2));
    expect(l.creditAt[1] - l.waveletAt[1]).toBe(2 * (1 + 3 * 4));
  });

  it('on one strip, ends each round at once with its own next event and progress', () => {
    const l = exchangeLayout(1, new Int32Array(1), new Int32Array(1));
    const bytes = StripExchange.sharedBytes(l);
    const ex = new StripExchange(0, l, new SharedArrayBuffer(bytes.mail), new SharedArrayBuffer(bytes.reduction));
    ex.endRound(17, 9, true, false);
    expect([ex.next, ex.lastProgress, ex.anyActive, ex.anyAbort]).toEqual([17, 9, true, false]);
    ex.endRound(Infinity, 12, false, true);
    expect([ex.next, ex.lastProgress, ex.anyActive, ex.anyAbort]).toEqual([Infinity, 12, false, true]);
  });
});
