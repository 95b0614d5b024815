#!/usr/bin/env node
// Rewrites citations of sources outside the repository into links to its docs/ pages:
//   "facts §1.3"                       -> "docs/hardware.md#<heading>" (the heading chosen by what the line is about)
//   "facts §6"                         -> "docs/models.md#<family>"
//   "shared/facts/hardware.md"         -> "docs/hardware.md"
//   "shared/notes/toolchain.md pitfall 3" -> "docs/toolchain.md#workers-in-typescript"
//   "DESIGN.md layers" and the like    -> "docs/design.md#layers"
//   "shared/data/…", "shared/testdata/…" -> "data/…", "test/fixtures/…"
// Idempotent: its output contains none of the forms it rewrites, so running it again changes nothing. Re-run it after
// merging branches that still carry the old forms; test/unit/docs/citations.test.ts fails while any remain.
//
// Usage: node scripts/rewrite-citations.mjs [--check]
//   --check  rewrite nothing; list what would change and exit 1 if anything would.
import { readdirSync, readFileSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { join, relative, dirname, extname } from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const root = join(dirname(self), '..');
const ROOTS = ['compiler', 'fabric', 'kernels', 'src', 'bench', 'scripts', 'test', 'types', 'docs', 'bin', 'lab', 'examples', 'data'];
const ROOT_FILES = ['README.md', 'eslint.config.js', 'vitest.config.ts'];
const EXTENSIONS = new Set(['.ts', '.mts', '.mjs', '.js', '.md']);
const SKIP = new Set([relative(root, self), join('test', 'unit', 'docs', 'citations.test.ts')]);

const HW = 'docs/hardware.md';
const MODELS = 'docs/models.md';

/** The heading of docs/ that section `s` of the old facts file became, given the line that cites it. */
function factsTarget(s, line) {
  const has = (re) => re.test(line);
  switch (s) {
    case '1':
    case '1.1':
      if (has(/derived|check/i)) return `${HW}#consistency-checks`;
      if (has(/clock|GHz|MHz/i)) return `${HW}#clock`;
      return `${HW}#wafer-chip`;
    case '1.2':
      return `${HW}#fabric-dimensions`;
    case '1.3':
      if (has(/@f|simd|builtin/i)) return `${HW}#simd-widths`;
      if (has(/bank|read|write|sram|cache/i)) return `${HW}#sram-banks`;
      if (has(/hop|ramp|T_R|neighbour/i)) return `${HW}#hop-and-ramp-latency`;
      if (has(/queue|task|DSD|FIFO/i)) return `${HW}#tasks-and-queues`;
      if (has(/colou?r|wavelet|tag|route/i)) return `${HW}#router-and-colours`;
      if (has(/clock|MHz/i)) return `${HW}#clock`;
      return `${HW}#processing-element`;
    case '1.4':
      return has(/HBM|Azure|GB200/i) ? `${HW}#achievable-hbm-bandwidth` : `${HW}#wafer-measurements`;
    case '2':
      return `${HW}#defects-and-redundancy`;
    case '3':
      return `${HW}#vendor-simulator`;
    case '4':
      return `${HW}#waferllm`;
    case '5':
      if (has(/roofline/i)) return `${HW}#roofline-decode-bound`;
      if (has(/\bnote\b|sparsity/i)) return `${HW}#dense-and-sparse-figures`;
      return `${HW}#gpus`;
    case '6':
      if (has(/llama/i)) return `${MODELS}#llama-31`;
      if (has(/qwen/i)) return `${MODELS}#qwen3`;
      if (has(/gpt-oss|80 GB GPU/i)) return `${MODELS}#gpt-oss`;
      if (has(/kimi/i)) return `${MODELS}#kimi-k2`;
      if (has(/mixtral/i)) return `${MODELS}#mixtral-8x7b`;
      return `${MODELS}#model-table`;
    case '7':
      return `${MODELS}#decoding-levers`;
    case '8':
      return `${HW}#emulator-defaults`;
    case '9':
      return `${HW}#clock`;
    case '10':
      return `${HW}#source-index`;
    default:
      return HW;
  }
}

const TOOLCHAIN_PITFALLS = {
  1: 'gpujs-and-the-gl-install-script',
  2: 'gpujs-modes',
  3: 'workers-in-typescript',
  4: 'comlink-has-no-exports-map',
  5: 'tinybench-6',
  6: 'webassemblymodule-and-arraybuffer',
  7: 'wabt-feature-flags',
  8: 'small-wasm-functions-with-v128-arguments',
  9: 'typedarray-map-makes-a-copy',
};

/** Whole-phrase rewrites, applied first (their inputs would otherwise be split by the general rules below). */
const PHRASES = [
  [/\(not in facts §6; values as given in the team brief\)/g, () => `(${MODELS}#mixtral-8x7b)`],
  [/(?:\.\.\/)?shared\/facts\/hardware\.md §6 \("facts §6"\)/g, () => `${MODELS}`],
  [/(?:\.\.\/)?shared\/facts\/hardware\.md \("facts §N"\)/g, () => `a heading of ${HW}`],
  [/(?:\.\.\/)?shared\/facts\/hardware\.md \("facts §(\d+(?:\.\d+)?)"\)/g, (line, m) => factsTarget(m[1], line)],
  [/values the facts table does\s+not give/g, () => 'values the cited sources do not give'],
  [/values the facts table does$/g, () => 'values the cited sources do'],
  [/\(not in the facts file;/g, () => `(not in ${HW};`],
  [/\(not in the facts file\)/g, () => `(not in ${HW})`],
  [/not in the facts file/g, () => `not in ${HW}`],
  [/the facts' own check/g, () => 'the derived check'],
  [/: copied from the team's `shared\/testdata\/` \(/g, () => ': ('],
];

/** Rewrites one line; returns [line, citations rewritten]. */
export function rewriteLine(line) {
  let count = 0;
  let out = line;
  const sub = (re, to) => {
    out = out.replace(re, (...args) => {
      count++;
      return to(line, args);
    });
  };
  for (const [re, to] of PHRASES) sub(re, to);

  sub(/(?:\.\.\/)*shared\/facts\/hardware\.md/g, () => HW);
  // Data and test data travel with the repository under the same names: data/… and test/fixtures/….
  sub(/(?:\.\.\/)*shared\/data\//g, () => 'data/');
  sub(/(?:\.\.\/)*shared\/testdata\//g, () => 'test/fixtures/');
  sub(/(?:\.\.\/)*shared\/DESIGN\.md/g, () => 'docs/design.md');
  sub(/(?:\.\.\/)?shared\/notes\/toolchain\.md pitfall (\d)/g, (_l, m) => `docs/toolchain.md#${TOOLCHAIN_PITFALLS[m[1]] ?? 'pitfalls'}`);
  sub(/(?:\.\.\/)?shared\/notes\/toolchain\.md/g, (l) => (/µs|cost/.test(l) ? 'docs/toolchain.md#what-things-cost-here' : 'docs/toolchain.md'));
  sub(/DESIGN\.md "two levels of truth"/g, () => 'docs/design.md#two-levels-of-truth');
  sub(/DESIGN\.md layers/g, () => 'docs/design.md#layers');
  sub(/DESIGN\.md(?=: never two formulas)/g, () => 'docs/design.md#two-levels-of-truth');
  sub(/(?<![\w/.-])DESIGN\.md/g, (l) => {
    if (/browser|rules? of the house|rules? learned/i.test(l)) return 'docs/design.md#rules-of-the-house';
    if (/layer|touches files/i.test(l)) return 'docs/design.md#layers';
    return 'docs/design.md';
  });

  // "facts §1.3", "facts §1.1, §1.3", "facts §1.3 and §9": every section of the list becomes a link.
  let cited = false;
  sub(/facts §(\d+(?:\.\d+)?)((?:\s*(?:,|and)\s*§\d+(?:\.\d+)?)*)/g, (l, m) => {
    cited = true;
    const sections = [m[1], ...[...m[2].matchAll(/§(\d+(?:\.\d+)?)/g)].map((x) => x[1])];
    return [...new Set(sections.map((s) => factsTarget(s, l)))].join(', ');
  });
  // A later "§8" in the same parenthesis ("facts §1.3, Luczynski et al.; §8"): only after a separator, so a paper's own
  // section ("WaferLLM §7") is left alone.
  if (cited) sub(/([;,(]\s*)§(\d+(?:\.\d+)?)/g, (l, m) => `${m[1]}${factsTarget(m[2], l)}`);
  return [out, count];
}

/** Rewrites a file's text; returns [text, citations rewritten]. */
export function rewriteText(text) {
  let total = 0;
  const lines = text.split('\n').map((line) => {
    const [out, n] = rewriteLine(line);
    total += n;
    return out;
  });
  return [lines.join('\n'), total];
}

function* walk(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (EXTENSIONS.has(extname(e.name)) && !e.name.endsWith('.gen.ts')) yield p;
  }
}

function main() {
  const check = process.argv.includes('--check');
  const files = [...ROOTS.flatMap((d) => [...walk(join(root, d))]), ...ROOT_FILES.map((f) => join(root, f))];
  let total = 0;
  let changedFiles = 0;
  for (const file of files) {
    const rel = relative(root, file);
    if (SKIP.has(rel)) continue;
    let text;
    try {
      if (!statSync(file).isFile()) continue;
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const [out, n] = rewriteText(text);
    if (out === text) continue;
    total += n;
    changedFiles++;
    console.log(`${rel}: ${n} citation${n === 1 ? '' : 's'}`);
    if (!check) {
      const tmp = `${file}.rewrite-citations.tmp`;
      writeFileSync(tmp, out);
      renameSync(tmp, file);
    }
  }
  console.log(`${check ? 'would rewrite' : 'rewrote'} ${total} citation${total === 1 ? '' : 's'} in ${changedFiles} file${changedFiles === 1 ? '' : 's'}`);
  if (check && total > 0) process.exit(1);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
