// Lint: typescript-eslint's recommended rules, plus the layer rule of docs/design.md#layers — kernels <- fabric <- compiler <- src;
// bench/ and test/ may import anything, nothing imports them — as core ESLint's no-restricted-imports per folder.
// (eslint-plugin-import-x needs unrs-resolver, whose platform bindings this registry does not all carry, so `npm ci`
// could not install it from a lockfile.)
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

// The core (kernels, fabric, compiler) loads in a browser (docs/design.md#rules-of-the-house): no Node built-in, no Node-only threading
// library. They stay in src/ or behind an interface a page replaces (fabric/mesh/pool.ts). The lab's esbuild bundle
// (platform browser) fails on any that slips through a dynamic import; test/unit/lab/browserBuild.test.ts builds it.
const NODE_ONLY = [...builtinModules.flatMap((m) => [m, `${m}/**`, `node:${m}`, `node:${m}/**`]), 'piscina', 'tsx', 'tsx/**'];
const NODE_ONLY_MESSAGE = 'the core runs in a browser: no Node built-ins or Node-only libraries in kernels/, fabric/, compiler/ (docs/design.md#rules-of-the-house); put it in src/ behind an interface';
const browserCore = (folder) => ['kernels', 'fabric', 'compiler'].includes(folder);

// One block per depth, so a pattern names the top-level folder exactly: from kernels/wasm/x.ts, "../../fabric/…".
// (A later block's no-restricted-imports replaces an earlier one's for the same files, so the browser rule is in
// the same block as the layer rule.)
const layer = (folder, forbidden, message) =>
  [1, 2, 3, 4].map((depth) => ({
    files: [`${folder}/${'*/'.repeat(depth - 1)}*.ts`, `${folder}/${'*/'.repeat(depth - 1)}*.mjs`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: forbidden.flatMap((f) => [`${'../'.repeat(depth)}${f}`, `${'../'.repeat(depth)}${f}/**`]), message },
            ...(browserCore(folder) ? [{ group: NODE_ONLY, message: NODE_ONLY_MESSAGE }] : []),
          ],
        },
      ],
      ...(browserCore(folder)
        ? { 'no-restricted-globals': ['error', ...['process', 'Buffer', 'require', '__dirname', '__filename', 'global'].map((name) => ({ name, message: NODE_ONLY_MESSAGE }))] }
        : {}),
    },
  }));

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '**/*.gen.ts', 'coverage/**', 'test/out/**', 'scratch/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  ...layer('kernels', ['fabric', 'compiler', 'src', 'bench', 'test'], 'kernels/ imports nothing else of the project (docs/design.md#layers).'),
  ...layer('fabric', ['compiler', 'src', 'bench', 'test'], 'fabric/ may import kernels/ only (docs/design.md#layers).'),
  ...layer('compiler', ['src', 'bench', 'test'], 'compiler/ may import fabric/ and kernels/ only (docs/design.md#layers).'),
  ...layer('src', ['bench', 'test'], 'nothing imports bench/ or test/ (docs/design.md#layers).'),
  // Compute apart from drawing: the studies make plain records, src/report/ draws them; no arrow from a study back to
  // the drawing or the CLI. (One block with the src rule's patterns too: a later block's rule replaces an earlier one.)
  {
    files: ['src/study/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['../../bench', '../../bench/**', '../../test', '../../test/**', '../report', '../report/**', '../commands', '../commands/**'], message: 'src/study/ computes plain records: it imports neither the drawing (src/report/) nor the CLI (src/commands/), nor bench/ or test/.' }] }],
    },
  },
  // The lab page and its workers run in a browser; only its site build (lab/build.ts) runs in Node.
  {
    files: ['lab/**/*.ts'],
    ignores: ['lab/build.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: NODE_ONLY, message: 'lab/ runs in a browser (only lab/build.ts runs in Node)' }, { group: ['../bench', '../bench/**', '../test', '../test/**'], message: 'nothing imports bench/ or test/ (docs/design.md#layers).' }] }],
      'no-restricted-globals': ['error', ...['process', 'Buffer', 'require', '__dirname', '__filename', 'global'].map((name) => ({ name, message: 'lab/ runs in a browser' }))],
    },
  },
);
