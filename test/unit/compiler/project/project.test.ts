// projectWafer: its options and their errors, the multi-wafer pipeline, batch and time to first token, quantisation,
// KV chunking at long contexts, the grid sweep, and the lowering extensions it relies on (MLA stand-in, shared
// experts, router region). Models here are the toys and small configs of real families, so each case takes well
// under a second; the real-size presets run in the fabrics benchmark.
import { describe, expect, it } from 'vitest';
import { parseModelConfig } from '../../../../compiler/model/config.js';
import { getPreset } from '../../../../compiler/model/presets.js';
import { projectWafer, projectionGraph, sweepGrid, sweepGrids } from '../../../../compiler/project/index.js';
import { PATH_CAUSES } from '../../../../compiler/wafer/estimate.js';
import { generateFaults } from '../../../../fabric/faults/index.js';
import { buildGraph } from '../../../../compiler/graph/graph.js';
import { compileModel } from '../../../../compiler/wafer/compile.js';
import { getFabricPreset } from '../../../../fabric/spec/index.js';

const mini64 = getFabricPreset('mini-64');
const mini128 = getFabricPreset('mini-128');
const toyDense = getPreset('toy-dense');
const toyMoe = getPreset('toy-moe');

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

/** A small Kimi/DeepSeek-style model: MLA, one leading dense layer, 16 routed experts top-2 and a shared expert. */
const smallMla = parseModelConfig(
  {
    model_type: 'deepseek_v3',
    hidden_size: 256,
    intermediate_size: 512,
    moe_intermediate_size: 128,
    num_hidden_layers: 3,
    num_attention_heads: 8,
    num_key_value_heads: 8,
    n_routed_experts: 16,
    num_experts_per_tok: 2,
    n_shared_experts: 1,
    first_k_dense_replace: 1,
    q_lora_rank: 128,
    kv_lora_rank: 64,
    qk_nope_head_dim: 32,
    qk_rope_head_dim: 16,
    v_head_dim: 32,
    routed_scaling_factor: 2.5,
    vocab_size: 1024,
  },
  'small-mla',
  'small-mla',
);

/** A small MoE whose router (64 experts × 512) overflows its hub, so the projection makes it a region. */
const wideRouter = parseModelConfig(
  { model_type: 'qwen3_moe', hidden_size: 512, intermediate_size: 1024, moe_intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 8, num_key_value_heads: 4, head_dim: 64, num_experts: 64, num_experts_per_tok: 4, vocab_size: 1024 },
  'wide-router',
  'wide-router',
);

describe('projectWafer options', () => {
  it.each([
    ['batch 0', { batch: 0 }, 'batch must be a whole number ≥ 1, got 0 (batch): give 1 or more'],
    ['prompt 0', { promptLength: 0, context: 16 }, 'prompt length must be a whole number ≥ 1, got 0 (promptLength): give 1 or more'],
    ['context 0', { context: 0, promptLength: 1 }, 'context must be a whole number ≥ 1, got 0 (context): give 1 or more'],
    ['a prompt longer than the context', { context: 16, promptLength: 20 }, 'prompt length 20 does not fit a context of 16 (promptLength): give at most 16, or a longer context'],
    ['a grid larger than the fabric', { grid: { width: 65, height: 10 } }, "grid 65x10 is larger than mini-64's 64x64 (grid): give at most 64x64"],
    ['an empty grid', { grid: { width: 0, height: 10 } }, 'grid 0x10 is not a size in tiles (grid): give WxH with whole numbers ≥ 1, e.g. 420x420'],
    ['0 wafers', { wafers: 0 }, 'wafers must be "auto" or a whole number ≥ 1, got 0 (wafers): give auto or 1 or more'],
    ['spread 2', { spread: 2 }, 'spread must be in [0, 1], got 2 (spread): give a fraction such as 0.9'],
    ['fan-out 0', { maxFan: 0 }, 'maxFan must be a whole number ≥ 1, got 0 (maxFan): give 8 or more'],
    ['dtype fp8', { dtype: 'fp8' as 'bf16' }, 'unknown dtype "fp8" (dtype): use one of bf16, int8, mxfp4'],
    ['KV dtype f16', { kvDtype: 'f16' as 'bf16' }, 'unknown KV-cache dtype "f16" (kvDtype): use one of bf16, f32'],
    ['mxfp4 without experts', { dtype: 'mxfp4' as const }, 'mxfp4 quantises routed experts, and toy-dense has none (dtype): use bf16 or int8 for a dense model'],
    ['a grid a layer does not fit', { context: 16, grid: { width: 6, height: 6 } }, 'layer 0 needs 56 tiles but a wafer has 36 usable (grid): use a larger grid, the int8 or mxfp4 dtype, or a fabric with more SRAM per tile'],
    ['too few wafers', { context: 16, grid: { width: 12, height: 12 }, wafers: 1 }, '1 wafer cannot hold the model: it needs 2 (wafers): give at least 2, or auto'],
    ['a fault map of another size', { faults: generateFaults({ width: 32, height: 32, density: 0.01, seed: 1 }) }, 'the fault map is 32x32 but each wafer is 64x64 (faults): give a map of the (sub-)grid, or a fault density (a map is generated per wafer)'],
  ])('refuses %s', (_name, opts, message) => {
    expect(() => projectWafer(toyDense, mini64, opts)).toThrow(message);
  });
});

describe('projectWafer on one wafer', () => {
  const r = projectWafer(toyDense, mini64, { context: 16, promptLength: 8 });

  it('reports the fields compare and the CLI read, consistently', () => {
    expect(r.wafers).toBe(1);
    expect(r.tilesPerWafer).toEqual([r.tilesUsedPerWafer]);
    expect(r.layersPerWafer).toEqual([4]);
    expect(r.tilesUsedPerWafer).toBe(r.head.embeddingTiles + r.head.lmHeadTiles + 4 * r.stages[0].tilesPerLayer);
    expect(r.decodeTokensPerSecond).toBeCloseTo(1 / r.tokenLatencySeconds, 9);
    expect(r.aggregateTokensPerSecond).toBeCloseTo(r.decodeTokensPerSecond, 9);
    // Every layer is timed at its own offset; they differ by distance and by the links their streams share there.
    expect(Math.abs((r.tokenLatencySeconds * r.clockHz) / (r.head.cycles + 4 * r.stages[0].cycles) - 1)).toBeLessThan(0.01);
    expect(r.slowestStageSeconds * r.clockHz).toBeGreaterThanOrEqual(Math.max(r.head.cycles, r.stages[0].cycles));
    // Every second of a token has a cause, and the roll-up is the detail summed.
    expect(sum({ ...r.breakdown })).toBeCloseTo(1 / r.decodeTokensPerSecond, 12);
    expect(sum({ ...r.breakdownDetail })).toBeCloseTo(1 / r.decodeTokensPerSecond, 12);
    expect(r.breakdown.interWafer).toBe(0);
    expect(r.breakdown.bubbles).toBe(0);
    expect(r.breakdownDetail.wait).toBe(0);
    expect([...PATH_CAUSES, 'interWafer', 'bubbles']).toContain(r.boundBy);
    expect(r.maxContext).toBeGreaterThan(r.context);
    expect(r.approximations).toEqual(['KV cache held in bf16, attention multiply-adds at the 16-bit-into-f32 width (`@fmachs`), as the mesh engine runs it with compileModel kvDtype bf16']);
  });

  it('prefills the prompt through the layer pipeline: latency + (L − 1) × the slowest stage', () => {
    expect(r.timeToFirstTokenSeconds).toBeCloseTo(r.tokenLatencySeconds + 7 * r.slowestStageSeconds, 12);
  });

  it('pipelines a batch: aggregate grows with users until the slowest stage is full, then users wait', () => {
    const b2 = projectWafer(toyDense, mini64, { context: 16, promptLength: 8, batch: 2 });
    expect(b2.aggregateTokensPerSecond).toBeCloseTo(2 * b2.decodeTokensPerSecond, 9);
    expect(b2.breakdown.bubbles).toBe(0);
    const b64 = projectWafer(toyDense, mini64, { context: 16, promptLength: 8, batch: 64 });
    expect(b64.breakdown.bubbles).toBeGreaterThan(0);
    expect(b64.aggregateTokensPerSecond).toBeCloseTo(1 / b64.slowestStageSeconds, 6);
    expect(b64.decodeTokensPerSecond).toBeLessThan(b2.decodeTokensPerSecond);
    // Each user holds its own KV cache in every layer.
    expect(b64.tilesUsedPerWafer).toBeGreaterThan(r.tilesUsedPerWafer);
    expect(b64.maxContext).toBeLessThan(r.maxContext);
  });
});

describe('colours a tile receives on', () => {
  it('counts them as the compiled program\'s receive triggers do, the experts the projection does not lower included', () => {
    for (const cfg of [toyDense, toyMoe]) {
      // compileModel lowers every expert and emits colours; the projection lowers the top-k and reserves the rest.
      const compiled = compileModel(buildGraph(cfg), { spec: mini64, faults: null, repair: 'route-around', dtype: 'bf16', maxSeq: 16 });
      let most = 0;
      for (const t of compiled.program.tiles) {
        const colours = new Set<number>();
        for (const k of t.tasks) if (k.trigger.on === 'recv') colours.add(k.trigger.colour);
        most = Math.max(most, colours.size);
      }
      const r = projectWafer(cfg, mini64, { context: 16, balance: false });
      expect(r.receiveStreamsPerTile).toBe(most);
      expect(Math.max(...r.stages.map((s) => s.receiveStreams))).toBeLessThanOrEqual(most);
    }
  });

  it('says where tiles receive on more colours than the fabric has input queues, and only there', () => {
    const { receiveQueues: _, ...noQueues } = mini64;
    const r = projectWafer(toyDense, noQueues, { context: 16 });
    expect(r.receiveQueues).toBeNull();
    const mentions = (x: typeof r) => x.approximations.filter((a) => a.includes('input queues'));
    expect(mentions(r)).toEqual([]);
    const at = projectWafer(toyDense, { ...mini64, receiveQueues: r.receiveStreamsPerTile }, { context: 16 });
    expect(mentions(at)).toEqual([]);
    const below = projectWafer(toyDense, { ...mini64, receiveQueues: r.receiveStreamsPerTile - 1 }, { context: 16 });
    expect(below.decodeTokensPerSecond).toBe(r.decodeTokensPerSecond);
    expect(mentions(below)).toHaveLength(1);
    expect(mentions(below)[0]).toContain(`up to ${r.receiveStreamsPerTile} colours`);
  });

  it('says that an MoE layer routes only the experts it lowers', () => {
    const moe = projectWafer(toyMoe, mini64, { context: 16 });
    const E = toyMoe.moe!.numExperts;
    const said = (r: typeof moe) => r.approximations.filter((a) => a.startsWith('MoE layers route only'));
    expect(said(moe)).toEqual([expect.stringContaining(`send ${E} dispatches and take ${E} returns each, not coloured here`)]);
    // More experts than a tile has colours: the note says so.
    const few = projectWafer(toyMoe, { ...mini64, colours: E - 1 }, { context: 16 });
    expect(said(few)).toEqual([expect.stringContaining(`more than a tile's ${E - 1} colours`)]);
    expect(projectWafer(toyDense, mini64, { context: 16 }).approximations.some((a) => a.startsWith('MoE layers'))).toBe(false);
  });
});

describe('projectWafer over several wafers', () => {
  it('packs layers in order into wafers of a sub-grid and pays the inter-wafer link per boundary', () => {
    const r = projectWafer(toyDense, mini64, { context: 16, promptLength: 8, grid: { width: 10, height: 10 } });
    expect(r.wafers).toBe(4);
    expect(r.layersPerWafer.reduce((a, b) => a + b, 0)).toBe(4);
    for (const t of r.tilesPerWafer) expect(t).toBeLessThanOrEqual(100);
    const link = mini64.interWafer;
    const bytes = toyDense.hiddenSize * mini64.costs.interWaferBytesPerValue;
    expect(r.interWafer).toEqual({ bytesPerToken: bytes, secondsPerBoundary: link.latencySeconds + bytes / link.bytesPerSecond, boundaries: 3 });
    expect(r.breakdown.interWafer).toBeCloseTo(3 * (link.latencySeconds + bytes / link.bytesPerSecond) + link.latencySeconds + 4 / link.bytesPerSecond, 15);
    expect(r.tokenLatencySeconds).toBeCloseTo(sum({ ...r.breakdown }), 12);
  });

  it('spreads the layers over more wafers when asked', () => {
    const r = projectWafer(toyDense, mini64, { context: 16, promptLength: 8, wafers: 4 });
    expect(r.wafers).toBe(4);
    expect(r.layersPerWafer).toEqual([1, 1, 1, 1]);
    expect(() => projectWafer(toyDense, mini64, { context: 16, grid: { width: 10, height: 10 }, wafers: 3 })).toThrow('3 wafers cannot hold the model: it needs 4');
  });
});

describe('quantisation, spread and long contexts', () => {
  it('int8 halves the weight tiles of bf16; mxfp4 packs only the routed experts', () => {
    const bf16 = projectWafer(toyDense, mini64, { context: 16 });
    const int8 = projectWafer(toyDense, mini64, { context: 16, dtype: 'int8' });
    expect(int8.stages[0].tilesPerLayer).toBeLessThan(bf16.stages[0].tilesPerLayer);
    const moeBf16 = projectWafer(toyMoe, mini64, { context: 16 });
    const moeFp4 = projectWafer(toyMoe, mini64, { context: 16, dtype: 'mxfp4' });
    expect(moeFp4.stages[0].tilesPerLayer).toBeLessThan(moeBf16.stages[0].tilesPerLayer);
    expect(moeFp4.head).toEqual(moeBf16.head);
    expect(moeFp4.approximations.join()).toContain('MXFP4 experts held at 4.25 bits per weight');
    expect(moeFp4.decodeTokensPerSecond).not.toBe(moeBf16.decodeTokensPerSecond);
  });

  it('spreading fills the wafer with smaller blocks and shortens the token', () => {
    const packed = projectWafer(toyDense, mini64, { context: 16 });
    const spread = projectWafer(toyDense, mini64, { context: 16, spread: 0.5 });
    expect(spread.tilesUsedPerWafer).toBeGreaterThan(packed.tilesUsedPerWafer);
    expect(spread.tilesUsedPerWafer).toBeLessThanOrEqual(0.5 * 4096);
    expect(spread.budgetBytesPerTile).toBeLessThan(packed.budgetBytesPerTile);
    expect(spread.decodeTokensPerSecond).toBeGreaterThan(packed.decodeTokensPerSecond);
  });

  it('splits a KV cache that overflows its tile over chunk tiles, and says how long a context fits', () => {
    const short = projectWafer(toyDense, mini64, { context: 16 });
    expect(short.stages[0].kvPositionsPerTile).toBe(16);
    const long = projectWafer(toyDense, mini64, { context: 2048 });
    expect(long.stages[0].kvPositionsPerTile).toBeLessThan(2048);
    expect(long.stages[0].tilesPerLayer).toBeGreaterThan(short.stages[0].tilesPerLayer + 4 * Math.floor(2048 / long.stages[0].kvPositionsPerTile) - 1);
    expect(long.maxContext).toBeGreaterThanOrEqual(2048);
    expect(long.decodeTokensPerSecond).toBeLessThan(short.decodeTokensPerSecond);
  });

  it('the longest context it reports fits the same wafers with full chunk tiles, and a tenth more does not', () => {
    const long = { ...toyDense, maxPositionEmbeddings: 1 << 20 };
    const r = projectWafer(long, mini64, { context: 2048 });
    expect(r.maxContext).toBeGreaterThan(10 * 2048);
    expect(projectWafer(long, mini64, { context: r.maxContext, kvChunkPositions: 'fill' }).wafers).toBe(r.wafers);
    expect(projectWafer(long, mini64, { context: Math.floor(1.1 * r.maxContext), kvChunkPositions: 'fill' }).wafers).toBeGreaterThan(r.wafers);
  });

  it('chooses the positions per KV chunk that the estimate finds fastest among halvings of a full tile', () => {
    const auto = projectWafer(toyDense, mini64, { context: 2048 });
    const p = auto.stages[0].kvPositionsPerTile;
    // A full chunk tile holds more than the choice; forcing it, or a quarter of the choice, is no faster.
    const full = projectWafer(toyDense, mini64, { context: 2048, kvChunkPositions: 4 * p });
    expect(full.stages[0].kvPositionsPerTile).toBe(4 * p);
    expect(full.tokenLatencySeconds).toBeGreaterThanOrEqual(auto.tokenLatencySeconds);
    if (p >= 4) expect(projectWafer(toyDense, mini128, { context: 2048, kvChunkPositions: Math.floor(p / 4) }).tokenLatencySeconds).toBeGreaterThanOrEqual(projectWafer(toyDense, mini128, { context: 2048 }).tokenLatencySeconds);
    expect(() => projectWafer(toyDense, mini64, { context: 2048, kvChunkPositions: 2048 })).toThrow(/2048 KV positions of head dimension 32 do not fit a chunk tile/);
  });

  it('splits a KV cache that fits its tile where one tile would attend long (gpt-oss-20b\'s 128-position windows)', () => {
    const wse3 = getFabricPreset('wse3');
    const gpt = getPreset('gpt-oss-20b');
    const auto = projectWafer(gpt, wse3, { context: 4096 });
    const window = auto.stages.find((x) => x.kind.includes('window'))!;
    expect(window.kvPositionsPerTile).toBeLessThan(128);
    // Forced to full tiles, the window layers hold their 128 positions on one tile per head and take longer.
    const fill = projectWafer(gpt, wse3, { context: 4096, kvChunkPositions: 'fill' });
    const windowFill = fill.stages.find((x) => x.kind.includes('window'))!;
    expect(windowFill.kvPositionsPerTile).toBe(128);
    expect(windowFill.cycles).toBeGreaterThan(window.cycles);
  });

  it('keeps KV chunk tiles as large as it takes to stay on fewer wafers, unless asked for speed first', () => {
    const fill = projectWafer(toyDense, mini64, { context: 2048, kvChunkPositions: 'fill' });
    const auto = projectWafer(toyDense, mini64, { context: 2048 });
    expect(auto.stages[0].tilesPerLayer).toBeGreaterThan(fill.stages[0].tilesPerLayer);
    // A grid that holds the whole model with full chunk tiles, and a layer with the smaller ones but not all four.
    const side = Math.ceil(Math.sqrt(Math.max(fill.tilesUsedPerWafer, auto.stages[0].tilesPerLayer + 64))) + 1;
    expect(side * side).toBeLessThan(auto.tilesUsedPerWafer);
    const r = projectWafer(toyDense, mini64, { context: 2048, grid: { width: side, height: side } });
    // One wafer, with the smallest chunks that keep it to one (larger than the fastest, at most full).
    expect(r.wafers).toBe(1);
    expect(r.stages[0].kvPositionsPerTile).toBeGreaterThan(auto.stages[0].kvPositionsPerTile);
    expect(r.stages[0].kvPositionsPerTile).toBeLessThanOrEqual(fill.stages[0].kvPositionsPerTile);
    expect(projectWafer(toyDense, mini64, { context: 2048, grid: { width: side, height: side }, kvChunkPositions: 2 * r.stages[0].kvPositionsPerTile }).tokenLatencySeconds).toBeGreaterThan(r.tokenLatencySeconds);
    // Asked for speed first (as a grid sweep does), the same grid takes more wafers and the fastest chunks.
    const fast = projectWafer(toyDense, mini64, { context: 2048, grid: { width: side, height: side }, fewestWafers: false });
    expect(fast.wafers).toBeGreaterThan(1);
    expect(fast.stages[0].kvPositionsPerTile).toBe(auto.stages[0].kvPositionsPerTile);
  });

  it('a bf16 KV cache (the default) holds twice the positions per tile of an f32 one and attends faster', () => {
    // Chunk tiles as full as they fit, to compare what a tile holds.
    const bf16 = projectWafer(toyDense, mini64, { context: 2048, kvChunkPositions: 'fill' });
    const f32 = projectWafer(toyDense, mini64, { context: 2048, kvDtype: 'f32', kvChunkPositions: 'fill' });
    expect([bf16.kvDtype, f32.kvDtype]).toEqual(['bf16', 'f32']);
    expect(bf16.approximations.some((a) => a.startsWith('KV cache held in bf16'))).toBe(true);
    expect(f32.approximations.some((a) => a.startsWith('KV cache held in bf16'))).toBe(false);
    // Chunk tiles also hold q and partials, so the ratio is a little above 2.
    expect(bf16.stages[0].kvPositionsPerTile).toBeGreaterThanOrEqual(2 * f32.stages[0].kvPositionsPerTile);
    expect(bf16.stages[0].tilesPerLayer).toBeLessThan(f32.stages[0].tilesPerLayer);
    expect(bf16.breakdownDetail.attention).toBeLessThan(f32.breakdownDetail.attention);
    expect(bf16.decodeTokensPerSecond).toBeGreaterThan(f32.decodeTokensPerSecond);
  });

  it('route-around faults on every wafer: fewer usable tiles, the same model', () => {
    const faults = generateFaults({ width: 64, height: 64, density: 0.03, seed: 5 });
    const r = projectWafer(toyMoe, mini64, { context: 16, faults });
    expect(r.usableTilesPerWafer).toBeLessThan(4096);
    expect(r.tilesUsedPerWafer).toBe(projectWafer(toyMoe, mini64, { context: 16 }).tilesUsedPerWafer);
  });
});

describe('models the mesh compiler refuses', () => {
  it('MLA becomes grouped-query attention with the same cached values per token, and says so', () => {
    const { graph, approximations } = projectionGraph(getPreset('kimi-k2'));
    const a = graph.layers[5].attention;
    expect(a.mla).toBeNull();
    expect(a.numKvHeads).toBe(4);
    expect(a.kvValuesPerToken).toBe(512 + 64);
    expect(approximations[0]).toMatch(/^multi-head latent attention lowered as grouped-query attention \(64 query heads, 4 KV heads of 72\): the same 576 cached values per token, attention weights 0\.\d\d× MLA's$/);
    expect(approximations).toContain('routed-expert scaling not lowered (one vector scale per MoE layer)');
  });

  it('projects a small MLA + shared-expert MoE with a leading dense layer: two layer kinds', () => {
    const r = projectWafer(smallMla, mini64, { context: 32 });
    expect(r.stages.map((s) => [s.kind, s.layers])).toEqual([
      ['dense-512', 1],
      ['moe-16x128', 2],
    ]);
    expect(r.decodeTokensPerSecond).toBeGreaterThan(0);
  });

  it('turns a router that overflows its hub into a region, and sizes the experts it does not lower', () => {
    const r = projectWafer(wideRouter, mini64, { context: 16 });
    expect(r.stages[0].overflowTiles).toBe(0);
    expect(r.stages[0].tilesPerLayer).toBeGreaterThan(64 * 3);
  });

  it('projects gpt-oss-style sliding windows as a layer kind of their own', () => {
    const { graph, approximations } = projectionGraph(getPreset('gpt-oss-20b'));
    expect(new Set(graph.layers.map((l) => l.attention.window))).toEqual(new Set([128, null]));
    expect(approximations).toContain('sliding-window layers hold and attend over at most 128 positions');
  });
});

describe('grid sweep', () => {
  it('visits squares up to the fabric and the grid asked for, in size order', () => {
    expect(sweepGrids(getFabricPreset('wse2'), { width: 420, height: 420 }).map((g) => `${g.width}x${g.height}`)).toEqual([
      '60x60', '90x90', '120x120', '180x180', '240x240', '300x300', '360x360', '420x420', '480x480', '540x540', '600x600', '660x660', '720x720', '750x750', '750x994',
    ]);
    expect(sweepGrids(mini64, null)).toEqual([
      { width: 60, height: 60 },
      { width: 64, height: 64 },
    ]);
  });

  it('reports a grid a layer does not fit as a point with its reason, and spreads the model over larger ones', () => {
    const points = sweepGrid(toyDense, mini64, { context: 16 }, [{ width: 6, height: 6 }, { width: 12, height: 12 }, { width: 64, height: 64 }]);
    expect(points[0].report).toBeNull();
    expect(points[0].error).toContain('layer 0 needs');
    expect(points[1].report!.wafers).toBeGreaterThan(1);
    expect(points[2].report!.wafers).toBe(1);
    // Spread to fill the wafer: more tiles than packing needs.
    expect(points[2].report!.tilesUsedPerWafer).toBeGreaterThan(projectWafer(toyDense, mini64, { context: 16 }).tilesUsedPerWafer);
  });
});
