// Lint: typescript-eslint's recommended rules, plus the layer rule of DESIGN.md enforced by import-x zones:
// kernels <- fabric <- compiler <- src; bench/ and test/ may import anything, nothing imports them.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const layerZones = [
  { target: './kernels', from: ['./fabric', './compiler', './src', './bench', './test'], message: 'kernels/ imports nothing else of the project (DESIGN.md layers).' },
  { target: './fabric', from: ['./compiler', './src', './bench', './test'], message: 'fabric/ may import kernels/ only (DESIGN.md layers).' },
  { target: './compiler', from: ['./src', './bench', './test'], message: 'compiler/ may import fabric/ and kernels/ only (DESIGN.md layers).' },
  { target: './src', from: ['./bench', './test'], message: 'nothing imports bench/ or test/ (DESIGN.md layers).' },
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '**/*.gen.ts', 'coverage/**', 'test/out/**', 'scratch/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mjs', '**/*.js'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })] },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: layerZones }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
