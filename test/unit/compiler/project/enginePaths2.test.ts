// More of the paths the projection takes at real size, run on the mesh engine at a size it holds
// (docs/design.md#two-levels-of-truth, docs/lowering.md#projection-paths-on-the-engine): each with exact greedy tokens
// against the reference forward pass and the projection within 10% of the engine's decode cycles.
import { describe, expect, it } from 'vitest';
import { buildGraph } from '../../../../compiler/graph/graph.js';
import { parseModelConfig } from '../../../../compiler/model/config.js';
import { syntheticWeights } from '../../../../compiler/model/synthetic.js';
import { castWeights } from '../../../../compiler/model/weights.js';
import { generate } from '../../../../compiler/reference/forward.js';
import { projectWafer } from '../../../../compiler/project/index.js';
import { kvChunker } from '../../../../compiler/project/kvChunks.js';
import { compileModel } from '../../../../compiler/wafer/compile.js';
import { estimateStep } from '../../../../compiler/wafer/estimate.js';
import { reduceChildren } from '../../../../compiler/wafer/region.js';
import { weightProvider } from '../../../../compiler/wafer/weights.js';
import { MeshEngine } from '../../../../fabric/mesh/engine.js';
import { decodeOnEngine } from '../../../helpers/decode.js';
import { getFabricPreset } from '../../../../fabric/spec/index.js';
import { waferLinkCycles } from '../../../../fabric/mesh/cost.js';
import { getPreset } from '../../../../compiler/model/presets.js';
import { TOKEN_ID_BYTES } from '../../../../compiler/project/project.js';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * A small Llama with llama-3.1-8b's attention proportions (4 q heads per KV head) and heads of 64, so a chunk's
 * partial (4·64 + 8 floats) goes up the combine in more than one piece; one layer keeps a run short.
 */
const toyGqa = parseModelConfig(
  {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: 256,
    intermediate_size: 512,
    num_hidden_layers: 1,
    num_attention_heads: 8,
    num_key_value_heads: 2,
    head_dim: 64,
    vocab_size: 512,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    max_position_embeddings: 64,
    tie_word_embeddings: false,
    hidden_act: 'silu',
  },
  'enginePaths2',
  'toy-gqa',
);

describe('KV chunk tiles and their flash-decoding combine tree on the mesh engine', () => {
  // 16 positions in chunk tiles of 2: 8 chunk tiles per KV head, a combine tree of several levels. Every position is
  // run, so at the last step every chunk is full, as the projection times it (context − 1).
  const MAX_SEQ = 16;
  const POSITIONS = 2;
  const kvDtype = 'bf16';

  // The shape the projection picks (a chain at 8 chunks), and the binomial tree and K-tree it picks for longer caches.
  it.each([undefined, 'tree', 'ktree'] as const)('toy-gqa on mini-16, bf16 KV in chunks of 2 positions, combine %s: exact tokens; the projection and the chunked section within 10 percent', async (kvCombineShape) => {
    const spec = getFabricPreset('mini-16');
    const weights = castWeights(syntheticWeights(toyGqa, 0), 'bf16');
    const projection = { kvChunks: kvChunker, kvChunkPositions: POSITIONS, kvChunkFitting: true, kvCombineShape, kvDtype } as const;
    // The projection of the same model and chunking, timed at the last position; the engine runs its layout.
    const r = projectWafer(toyGqa, spec, { context: MAX_SEQ, promptLength: 1, kvDtype, kvChunkPositions: POSITIONS, kvChunkFitting: true, kvCombineShape });
    const compiled = compileModel(buildGraph(toyGqa), { spec, faults: null, repair: 'route-around', dtype: 'bf16', maxSeq: MAX_SEQ, kvDtype, stageBudgets: r.stageBudgets, projection });
    const { lowered, placement, routes } = compiled;
    const chunking = lowered.kvChunking!;
    expect(chunking.chunks).toBe(MAX_SEQ / POSITIONS);
    if (kvCombineShape) expect(chunking.reduce).toBe(kvCombineShape);
    expect(chunking.pieces).toBeGreaterThan(1);
    // A tree of more than one level: some chunk that sends to a parent also has children of its own.
    const depth = (c: number): number => 1 + Math.max(0, ...reduceChildren(chunking.reduce, c, chunking.chunks).map(depth));
    expect(depth(0)).toBeGreaterThan(2);

    // The section the chunks add: from q (with the new k and v) reaching KV head 0's chunk tiles of layer 0 to its
    // output reaching the O region. The engine's tasks start as their data lands (the tiles are idle then).
    const tiles = lowered.plan.tiles;
    const oTiles = lowered.regions.find((r) => r.name === 'L0.attn.o')!.inputs[0].dst;
    const chunkTiles = tiles.filter((t) => t.tag.unit === 'kv-chunk' && t.tag.layer === 0 && t.tag.index[0] === 0).map((t) => t.id);
    expect(chunkTiles.length).toBe(chunking.chunks);
    const engine = await MeshEngine.create(spec, compiled.program, weightProvider(weights), { trace: true });
    const section: { engine: number; estimate: number }[] = [];
    let from = 0;
    const { tokens, cycles } = await decodeOnEngine(engine, MAX_SEQ, {
      onStep: (position) => {
        const events = engine.traceLog().slice(from);
        from += events.length;
        const stepStart = Math.min(...events.map((e) => e.startCycle));
        const firstTask = (t: number) => Math.min(...events.filter((e) => e.y * spec.widthTiles + e.x === placement.tileOf[t]).map((e) => e.startCycle)) - stepStart;
        const est = estimateStep(spec, lowered, placement, routes, { position, probeTiles: [...oTiles, ...chunkTiles] }).firstArrival!;
        const arrival = (t: number) => est.get(t)!.cycles;
        section.push({
          engine: Math.min(...oTiles.map(firstTask)) - Math.min(...chunkTiles.map(firstTask)),
          estimate: Math.min(...oTiles.map(arrival)) - Math.min(...chunkTiles.map(arrival)),
        });
      },
    });
    expect(tokens).toEqual(generate(weights, [1], MAX_SEQ, { kvDtype, maxSeq: MAX_SEQ }).tokens);
    expect(Math.abs(mean(section.map((s) => s.estimate)) / mean(section.map((s) => s.engine)) - 1)).toBeLessThanOrEqual(0.1);

    // The projection against the same run.
    expect(r.stages[0].kvPositionsPerTile).toBe(POSITIONS);
    expect(r.kvCombinePieces).toBe(chunking.pieces);
    expect(Math.abs((r.tokenLatencySeconds * spec.clockHz) / cycles[MAX_SEQ - 1] - 1)).toBeLessThanOrEqual(0.1);
  });
});

/**
 * A wide MoE like qwen3-235b-a22b's (128 experts): its router's weights (128 × 256 in bf16) overflow a hub tile, so
 * the lowering makes the router a region; one layer keeps a run short.
 */
const toyWideMoe = parseModelConfig(
  {
    architectures: ['MixtralForCausalLM'],
    model_type: 'mixtral',
    hidden_size: 256,
    intermediate_size: 64,
    num_hidden_layers: 1,
    num_attention_heads: 8,
    num_key_value_heads: 4,
    num_local_experts: 128,
    num_experts_per_tok: 2,
    vocab_size: 512,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    max_position_embeddings: 64,
    tie_word_embeddings: false,
    hidden_act: 'silu',
  },
  'enginePaths2',
  'toy-wide-moe',
);

describe('a router region and reserved expert spans on the mesh engine', () => {
  it('toy-wide-moe on mini-32, the unpicked experts reserved spans: exact tokens, the projection within 10 percent', async () => {
    const spec = getFabricPreset('mini-32');
    const weights = castWeights(syntheticWeights(toyWideMoe, 0), 'bf16');
    const STEPS = 4;
    // The experts the reference routes to over the run are lowered; the others are reserved spans, as the projection
    // holds every expert its estimate does not route to.
    const picked: number[][] = [];
    const reference = generate(weights, [1], STEPS, { onRouting: (p, r) => (picked[p] = [...r[0]!.indices]) });
    const lowered = new Set(picked.flat());
    // The projection routes to experts spread over the 128 (their distances typical), the run to those picked; the
    // engine runs the projection's layout, its stages' blocks balanced as it chose (balance.ts).
    const positions = [1, 2, 3];
    const reports = positions.map((p) => projectWafer(toyWideMoe, spec, { context: p + 1, promptLength: 1, kvDtype: 'f32' }));
    for (const r of reports) expect(r.stageBudgets).toEqual(reports[0].stageBudgets);
    const compiled = compileModel(buildGraph(toyWideMoe), { spec, faults: null, repair: 'route-around', dtype: 'bf16', maxSeq: STEPS, stageBudgets: reports[0].stageBudgets, projection: { lowerExpert: (_l, e) => lowered.has(e) } });
    const tiles = compiled.lowered.plan.tiles;
    expect(tiles.filter((t) => t.tag.unit === 'router').length).toBeGreaterThan(0);
    expect(tiles.filter((t) => t.tag.unit === 'reserved-expert').length).toBe(128 - lowered.size);
    const { tokens, cycles } = await decodeOnEngine(await MeshEngine.create(spec, compiled.program, weightProvider(weights)), STEPS);
    expect(tokens).toEqual(reference.tokens);
    const projected = reports.map((r) => r.tokenLatencySeconds * spec.clockHz);
    expect(Math.abs(mean(projected) / mean(positions.map((p) => cycles[p])) - 1)).toBeLessThanOrEqual(0.1);
  });

  it('a run whose router picks a reserved expert stops with the expert named', async () => {
    const spec = getFabricPreset('mini-32');
    const weights = castWeights(syntheticWeights(toyWideMoe, 0), 'bf16');
    let first: number[] = [];
    generate(weights, [1], 1, { onRouting: (p, r) => p === 0 && (first = [...r[0]!.indices]) });
    // Two experts lowered (the MoE hub joins top-2 returns): the second picked, and one the router does not pick.
    const other = [0, 1, 2].find((e) => !first.includes(e))!;
    const compiled = compileModel(buildGraph(toyWideMoe), { spec, faults: null, repair: 'route-around', dtype: 'bf16', maxSeq: 2, projection: { lowerExpert: (_l, e) => e === first[1] || e === other } });
    const engine = await MeshEngine.create(spec, compiled.program, weightProvider(weights));
    try {
      await expect(engine.step({ token: 1, position: 0 })).rejects.toThrow(new RegExp(`selected expert ${first[0]}, which the program holds as a reserved span`));
    } finally {
      await engine.close();
    }
  });
});

describe('a pipeline over two wafers on the mesh engine, the boundary a modelled link', () => {
  it('toy-dense on two mini-16 wafers stacked in one mesh: exact tokens, the projection within 10 percent', async () => {
    // A link far slower than the default assumption (50 µs against 2 µs): a run that missed the link, or charged it
    // twice, would be off by more than 10%.
    const base = getFabricPreset('mini-16');
    const spec = { ...base, interWafer: { ...base.interWafer, latencySeconds: 50e-6 } };
    const cfg = getPreset('toy-dense');
    const CONTEXT = 3;
    const r = projectWafer(cfg, spec, { context: CONTEXT, promptLength: 1, wafers: 2, kvDtype: 'f32' });
    expect(r.interWafer.boundaries).toBe(1);
    // The wafers stacked top to bottom as one mesh, each holding the layers the projection gave it.
    const stacked = { ...spec, name: 'mini-16 x2', heightTiles: 2 * spec.heightTiles };
    const compiled = compileModel(buildGraph(cfg), { spec: stacked, faults: null, repair: 'route-around', dtype: 'bf16', maxSeq: CONTEXT, stageBudgets: r.stageBudgets, wafers: { rows: spec.heightTiles, layersPerWafer: r.layersPerWafer } });
    const rows = compiled.program.tiles.filter((t) => t.tasks.length > 0).map((t) => Math.floor(t.y / spec.heightTiles));
    expect(new Set(rows)).toEqual(new Set([0, 1]));
    const weights = castWeights(syntheticWeights(cfg, 0), 'bf16');
    const { tokens, cycles } = await decodeOnEngine(await MeshEngine.create(stacked, compiled.program, weightProvider(weights)), CONTEXT);
    expect(tokens).toEqual(generate(weights, [1], CONTEXT).tokens);
    // A step starts with the token in the first wafer's embedding (the host writes it); the projection's token also
    // goes back over the link from the last wafer, so that crossing is added to the engine's step.
    const engineToken = cycles[CONTEXT - 1] + waferLinkCycles(spec, TOKEN_ID_BYTES);
    expect(Math.abs((r.tokenLatencySeconds * spec.clockHz) / engineToken - 1)).toBeLessThanOrEqual(0.1);
  });
});

describe('compileModel wafers: a split the mesh cannot hold is refused', () => {
  const cfg = getPreset('toy-dense');
  const base = getFabricPreset('mini-16');
  const stacked = { ...base, heightTiles: 32 };
  const compile = (rows: number, layersPerWafer: number[], spec = stacked) => () => compileModel(buildGraph(cfg), { spec, faults: null, repair: 'route-around', dtype: 'bf16', maxSeq: 4, wafers: { rows, layersPerWafer } });
  it.each([
    ['rows that do not stack into the mesh', compile(8, [2, 2]), /2 wafers of 8 rows do not stack into mini-16's 32 rows/],
    ['layers that do not add up', compile(16, [1, 2]), /layers per wafer \[1,2\] do not add up to the model's 4/],
    ['a wafer given more tiles than it has', compile(16, [4, 0], { ...stacked, widthTiles: 8 }), /the tiles before .* must begin at 128/],
    ['wafers across the placement bands', compile(8, [2, 2], { ...base }), /straddle the placement's 16-row bands/],
  ] as const)('%s', (_name, run, message) => {
    expect(run).toThrow(message);
  });
});
