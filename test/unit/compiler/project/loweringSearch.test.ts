// Which lowering a projection tries after a stage ran out of colours (compiler/project/project.ts LoweringSearch):
// grouped LM head inputs only where the LM head overflowed, right after that layout, and kept once taken.
import { describe, expect, it } from 'vitest';
import { LOWERING_STEPS, LoweringSearch, type LoweringStep } from '../../../../compiler/project/project.js';
import { ColourError } from '../../../../compiler/project/stage.js';

const overflow = (part: 'layer' | 'embedding' | 'lm_head') => new ColourError('routing needs more than 24 colours', part, 'fix', null, part);
const index = (want: LoweringStep) => LOWERING_STEPS.findIndex((s) => s.pieces === want.pieces && s.narrow === want.narrow && s.hubSlices === want.hubSlices && (s.groupHead ?? false) === (want.groupHead ?? false));

describe('LoweringSearch', () => {
  it('tries every layout, then the same layout with the LM head inputs grouped', () => {
    expect(LOWERING_STEPS.length % 2).toBe(0);
    for (let i = 0; i < LOWERING_STEPS.length; i += 2) {
      expect(LOWERING_STEPS[i].groupHead).toBeUndefined();
      expect(LOWERING_STEPS[i + 1]).toEqual({ ...LOWERING_STEPS[i], groupHead: true });
    }
  });

  it('groups the LM head inputs only after the same layout overflowed in the LM head', () => {
    const first = LOWERING_STEPS[0];
    const headVariant = LOWERING_STEPS[1];
    const layerFailed = new LoweringSearch(false);
    layerFailed.take(first);
    expect(layerFailed.worth(headVariant, overflow('layer'))).toBe(false);
    expect(layerFailed.worth(headVariant, overflow('embedding'))).toBe(false);
    const headFailed = new LoweringSearch(false);
    headFailed.take(first);
    expect(headFailed.worth(headVariant, overflow('lm_head'))).toBe(true);
    // Not the grouped variant of a layout other than the one that failed.
    const gather = index({ pieces: undefined, narrow: 'gather', groupHead: true });
    expect(headFailed.worth(LOWERING_STEPS[gather], overflow('lm_head'))).toBe(false);
  });

  it('keeps the grouped LM head in every later layout, and never tries grouping it twice', () => {
    const s = new LoweringSearch(false);
    s.take(LOWERING_STEPS[index({ pieces: undefined, narrow: 'all', hubSlices: 16 })]);
    const grouped = s.take(LOWERING_STEPS[index({ pieces: undefined, narrow: 'all', hubSlices: 16, groupHead: true })]);
    expect(grouped.groupHead).toBe(true);
    s.slices = 16;
    const next = LOWERING_STEPS[index({ pieces: undefined, narrow: 'all', hubSlices: 12 })];
    expect(s.worth(next, overflow('layer'))).toBe(true);
    expect(s.take(next).groupHead).toBe(true);
    expect(s.worth(LOWERING_STEPS[index({ pieces: undefined, narrow: 'all', hubSlices: 12, groupHead: true })], overflow('lm_head'))).toBe(false);
  });

  it('never tries fewer hub slices than the user gave, nor as many as the layout that failed', () => {
    const sixteen = LOWERING_STEPS[index({ pieces: undefined, narrow: 'all', hubSlices: 16 })];
    const user = new LoweringSearch(true);
    expect(user.worth(sixteen, overflow('layer'))).toBe(false);
    const auto = new LoweringSearch(false);
    auto.slices = 16;
    expect(auto.worth(sixteen, overflow('layer'))).toBe(false);
    auto.slices = 24;
    expect(auto.worth(sixteen, overflow('layer'))).toBe(true);
  });
});
