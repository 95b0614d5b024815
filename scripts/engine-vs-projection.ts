// Decode cycles per token on the mesh engine against the projection, at sizes the engine runs (greedy tokens checked
// against the reference forward pass): the measurement a cost change is checked with before it is trusted at full size.
//   npx tsx scripts/engine-vs-projection.ts [model:fabric[:positions]] ...   (default toy-dense:mini-32 toy-moe:mini-64)
import { buildGraph } from '../compiler/graph/graph.js';
import { getPreset } from '../compiler/model/presets.js';
import { syntheticWeights } from '../compiler/model/synthetic.js';
import { castWeights } from '../compiler/model/weights.js';
import { generate } from '../compiler/reference/forward.js';
import { projectWafer } from '../compiler/project/index.js';
import { compileModel } from '../compiler/wafer/compile.js';
import { weightProvider } from '../compiler/wafer/weights.js';
import { MeshEngine } from '../fabric/mesh/engine.js';
import { getFabricPreset } from '../fabric/spec/index.js';

const MAX_SEQ = 16;
const cases = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['toy-dense:mini-32', 'toy-moe:mini-64'];
for (const c of cases) {
  const [model, fabric, last = '3'] = c.split(':');
  const cfg = getPreset(model);
  const spec = getFabricPreset(fabric);
  const weights = castWeights(syntheticWeights(cfg, 0), 'bf16');
  const compiled = compileModel(buildGraph(cfg), { spec, faults: null, repair: 'route-around', dtype: 'bf16', maxSeq: MAX_SEQ });
  const engine = await MeshEngine.create(spec, compiled.program, weightProvider(weights));
  const positions = Array.from({ length: Number(last) }, (_, i) => i + 1);
  const tokens: number[] = [];
  const mesh: number[] = [];
  try {
    let token = 1;
    for (let position = 0; position <= positions[positions.length - 1]; position++) {
      const step = await engine.step({ token, position });
      token = Math.round(step.outputs.get('token')![1]);
      tokens.push(token);
      if (position > 0) mesh.push(step.cycles);
    }
  } finally {
    await engine.close();
  }
  const exact = JSON.stringify(tokens) === JSON.stringify(generate(weights, [1], tokens.length).tokens);
  const projected = positions.map((p) => projectWafer(cfg, spec, { context: p + 1, promptLength: 1, kvDtype: 'f32' }).tokenLatencySeconds * spec.clockHz);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  process.stdout.write(`${model} on ${fabric}: engine ${mean(mesh).toFixed(0)} cycles/token, projection ${mean(projected).toFixed(0)} (${((mean(projected) / mean(mesh) - 1) * 100).toFixed(1)}%), tokens ${exact ? 'exact' : 'DIFFER'}\n`);
}
