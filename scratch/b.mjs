import * as esbuild from 'esbuild';
import { readdirSync } from 'node:fs';
const files = ['kernels','fabric','compiler'].flatMap((d) => readdirSync(d, { recursive: true }).filter((f) => f.endsWith('.ts')).map((f) => `./${d}/${f}`));
const t0 = Date.now();
const r = await esbuild.build({ stdin: { contents: files.map((f, i) => `export * as m${i} from '${f}';`).join('\n'), resolveDir: process.cwd(), loader: 'ts' }, bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent', metafile: true }).catch((e) => e);
console.log(Date.now() - t0, 'ms', r.errors?.length, r.errors?.slice(0,3).map(e=>e.text), r.outputFiles?.[0]?.contents.length);
