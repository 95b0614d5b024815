// The typed plan: tile tags and stream kinds describe the lowering's structure as data, checked here against the
// plan's own wiring (who sends to whom, which buffers a tile holds), not against its display labels.
import { describe, expect, it } from 'vitest';
import { buildGraph } from '../../../../compiler/graph/graph.js';
import { getPreset } from '../../../../compiler/model/presets.js';
import { lowerModel } from '../../../../compiler/wafer/lower.js';
import type { LogicalTile } from '../../../../compiler/wafer/plan.js';
import { tileBudgetBytes } from '../../../../compiler/wafer/partition.js';
import { getFabricPreset } from '../../../../fabric/spec/index.js';

const spec = getFabricPreset('mini-64');
const lower = (model: string, sliceCols?: number) => lowerModel(buildGraph(getPreset(model)), { dtype: 'bf16', maxSeq: 16, budgetBytes: tileBudgetBytes(spec), spec, maxFan: 8, sliceCols });

describe('tile tags and stream kinds', () => {
  it.each([['toy-dense', undefined], ['toy-moe', undefined], ['toy-moe', 64]])('%s (slice width %s): every stream kind matches its ends', (model, sliceCols) => {
    const { plan } = lower(model, sliceCols);
    const tag = (id: number) => plan.tiles[id].tag;
    const cfg = getPreset(model);
    for (const s of plan.streams) {
      const src = s.src.map(tag);
      const dst = s.dst.map(tag);
      if (s.kind === 'reduce') {
        // A partial sum goes up a tree inside one unit: a region's block row, a hub's slices, the LM head's roots.
        expect(src).toHaveLength(1);
        expect(dst).toHaveLength(1);
        expect(dst[0]).toMatchObject({ unit: src[0].unit, layer: src[0].layer, expert: src[0].expert });
      } else if (s.kind === 'dispatch') {
        // A slice of an MoE hub to the same slice of a routed expert's hub, in the same layer.
        expect(src).toEqual([{ unit: 'mlp-hub', layer: dst[0].layer, expert: null, index: dst[0].index }]);
        expect(dst[0].unit).toBe('expert-hub');
        expect(typeof dst[0].expert).toBe('number');
      } else if (s.kind === 'broadcast') {
        // x to a block column of a region: every destination a block of one region in the same column.
        expect(new Set(dst.map((t) => `${t.unit}/${t.layer}/${t.expert}/${t.index[1]}`)).size).toBe(1);
        expect(['qkv', 'o', 'gate-up', 'down', 'lm-head', 'router']).toContain(dst[0].unit);
      }
    }
    // The hubs: one attention and one MLP hub per layer, each of the same slices, and one final hub.
    const hubs = (unit: string) => plan.tiles.filter((t: LogicalTile) => t.tag.unit === unit);
    const k = hubs('final-hub').length;
    expect(hubs('attn-hub')).toHaveLength(cfg.numLayers * k);
    expect(hubs('mlp-hub')).toHaveLength(cfg.numLayers * k);
    // Attention tiles hold the KV cache, and only they do.
    for (const t of plan.tiles) expect(t.buffers.some((b) => b.role === 'kv-cache')).toBe(t.tag.unit === 'kv');
    expect(hubs('kv')).toHaveLength(cfg.numLayers * cfg.numKvHeads);
    if (cfg.moe) expect(hubs('expert-hub')).toHaveLength(cfg.numLayers * cfg.moe.numExperts * k);
  });
});
