import { buildLab } from '../lab/build.js';
const t0 = performance.now();
const r = await buildLab('dist/lab', { onStep: (s) => console.log(((performance.now() - t0) / 1000).toFixed(1), s) });
console.log(r, ((performance.now() - t0) / 1000).toFixed(1));
