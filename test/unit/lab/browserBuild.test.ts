// The core runs in a browser (docs/design.md#rules-of-the-house): every module of kernels/, fabric/ and compiler/, and the lab page with its
// worker, bundle for the browser platform with esbuild — where any Node built-in they reach fails the build, as the
// last case shows. (eslint's no-restricted-imports catches static imports in the core; this catches the rest.)
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';
import { bundleOptions, REPO_ROOT } from '../../../lab/build.js';

const CORE = ['kernels', 'fabric', 'compiler'];

function coreModules(): string[] {
  return CORE.flatMap((d) =>
    readdirSync(join(REPO_ROOT, d), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => `./${d}/${f}`),
  );
}

/** Bundles `source` (TypeScript importing from the repository) for the browser; the error texts, or [] when it builds. */
async function browserBundleErrors(source: string): Promise<string[]> {
  try {
    const r = await esbuild.build({ stdin: { contents: source, resolveDir: REPO_ROOT, loader: 'ts' }, bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' });
    return r.errors.map((e) => e.text);
  } catch (e) {
    return ((e as { errors?: esbuild.Message[] }).errors ?? [{ text: String(e) } as esbuild.Message]).map((m) => m.text);
  }
}

describe('browser build', () => {
  it('every module of kernels/, fabric/ and compiler/ bundles for the browser', async () => {
    const modules = coreModules();
    expect(modules.length).toBeGreaterThan(50);
    expect(await browserBundleErrors(modules.map((m, i) => `export * as m${i} from '${m}';`).join('\n'))).toEqual([]);
  });

  it('the lab page and its worker bundle for the browser', async () => {
    const r = await esbuild.build({ ...bundleOptions('/nonexistent'), write: false, minify: false });
    expect(r.errors).toEqual([]);
    expect(r.outputFiles.map((f) => f.path.split('/').pop()).sort()).toEqual(['main.js', 'worker.js']);
  });

  it('fails on a Node built-in, so the check can catch one', async () => {
    const errors = await browserBundleErrors(`import { readFileSync } from 'node:fs'; export const f = readFileSync;`);
    expect(errors.join('\n')).toMatch(/node:fs/);
  });
});
