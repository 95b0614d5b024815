import { describe, expect, it } from 'vitest';
import { LOOKAHEAD_CAP, lookahead, type LookaheadGraph } from '../../../../fabric/mesh/lookahead.js';

// Three tiles in a row, 0 and 1 in strip 0, 2 in strip 1; one colour flowing east from tile 0 to tile 2's CE.
// VCs: 0 = tile 0 from its ramp (route E), 1 = tile 1 from W (route E, into strip 1), 2 = tile 2 from W (route ramp).
// Hops take 3 cycles, ramps 2, a task 4 to start. Ports: 0 ramp, 2 E.
function line(): LookaheadGraph {
  const downVc = new Int32Array(3 * 5).fill(-1);
  downVc[0 * 5 + 2] = 1;
  downVc[1 * 5 + 2] = 2;
  downVc[2 * 5 + 0] = -2;
  const linkLatency = new Uint16Array(3 * 5);
  for (let r = 0; r < 3; r++) {
    linkLatency[r * 5] = 2;
    for (let p = 1; p <= 4; p++) linkLatency[r * 5 + p] = 3;
  }
  return {
    tiles: 3,
    vcTile: Int32Array.from([0, 1, 2]),
    downVc,
    routeMask: Uint8Array.from([1 << 2, 1 << 2, 1]),
    linkLatency,
    owner: Uint8Array.from([0, 0, 1]),
    // Tile 0 sends the colour (its ramp-input VC is VC 0); tile 2 sends it back into VC 0 too (a made-up loop).
    sendVcStart: Int32Array.from([0, 1, 1, 2]),
    sendVcs: Int32Array.from([0, 0]),
    taskStartCycles: 4,
  };
}

describe('lookahead', () => {
  it('counts the cycles to the first post along the route, by hand', () => {
    const la = lookahead(line());
    // VC 1 leaves into strip 1: a post as it leaves.
    expect(la.vc[1]).toBe(0);
    // VC 2 (strip 1, fed from strip 0: its credits are bounded apart) goes down the ramp (2), starts a task (4), and
    // tile 2 sends into VC 0 through its ramp (2), 3 from a post: 2 + 4 + 2 + 3.
    expect(la.vc[2]).toBe(11);
    // VC 0: one 3-cycle hop to VC 1.
    expect(la.vc[0]).toBe(3);
    // Tile 0's CE sends into VC 0 through its 2-cycle ramp: 2 + 3.
    expect(la.send[0]).toBe(5);
    // Tile 1 sends nothing: never.
    expect(la.send[1]).toBe(LOOKAHEAD_CAP);
    // Tile 2 (strip 1) sends into VC 0 of strip 0, whose distance is counted for strip 0: 2 + 3.
    expect(la.send[2]).toBe(5);
  });

  it('follows a delivery through the CE: ramp, task start, then what the tile sends', () => {
    const g = line();
    // One strip for tiles 1 and 2 as well: VC 1 no longer crosses; VC 2 still delivers to tile 2, which sends into VC 0.
    g.owner = Uint8Array.from([0, 0, 0]);
    const la = lookahead(g);
    // Nothing ever crosses: every distance is the cap.
    expect([...la.vc].every((d) => d === LOOKAHEAD_CAP)).toBe(true);
    g.owner = Uint8Array.from([1, 0, 0]);
    // Now tile 0 is strip 1 alone: VC 0 crosses as it leaves (0). VC 2 -> ramp (2) + task start (4) -> tile 2 sends
    // into VC 0 (ramp 2): 2 + 4 + 2 + 0. VC 1 is a 3-cycle hop before VC 2.
    const la2 = lookahead(g);
    expect(la2.vc[0]).toBe(0);
    expect(la2.vc[2]).toBe(8);
    expect(la2.vc[1]).toBe(11);
  });
});
