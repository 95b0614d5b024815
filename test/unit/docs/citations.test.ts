// The repository is self-contained (docs/design.md#rules-of-the-house): every citation in code and docs names a file
// of the repository and, where it names a heading, a heading that exists; nothing points at sources outside it. Also
// holds scripts/rewrite-citations.mjs to what makes it safe to re-run after a merge: its output cites only headings
// that exist, and rewriting its own output changes nothing.
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { rewriteLine } from '../../../scripts/rewrite-citations.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SCANNED_DIRS = ['compiler', 'fabric', 'kernels', 'src', 'bench', 'scripts', 'docs', 'test', 'types', 'bin', 'lab', 'examples', 'data'];
const SCANNED_FILES = ['README.md', 'eslint.config.js', 'vitest.config.ts'];
const EXTENSIONS = new Set(['.ts', '.mts', '.mjs', '.js', '.md']);
// These two name the old forms in order to find them.
const EXEMPT = new Set(['test/unit/docs/citations.test.ts', 'scripts/rewrite-citations.mjs']);

function walk(dir: string, out: string[]): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (EXTENSIONS.has(extname(e.name)) && !e.name.endsWith('.gen.ts')) out.push(p);
  }
}

const files: string[] = [];
for (const d of SCANNED_DIRS) walk(join(REPO, d), files);
for (const f of SCANNED_FILES) if (existsSync(join(REPO, f))) files.push(join(REPO, f));
const scanned = files.map((f) => relative(REPO, f).split('\\').join('/')).filter((f) => !EXEMPT.has(f)).sort();
const text = new Map(scanned.map((f) => [f, readFileSync(join(REPO, f), 'utf8')]));

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens; repeats get -1, -2, … */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

const anchorCache = new Map<string, Set<string>>();
/** The anchors of a markdown file: its headings (outside code fences) and explicit `<a id>`/`<a name>` targets. */
function anchorsOf(repoPath: string): Set<string> {
  const hit = anchorCache.get(repoPath);
  if (hit) return hit;
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of readFileSync(join(REPO, repoPath), 'utf8').split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (h) {
      const base = slug(h[1]);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1]);
  }
  anchorCache.set(repoPath, anchors);
  return anchors;
}

/** Why `target` (a repository path, maybe with #anchor) does not resolve, or null when it does. */
function unresolved(target: string): string | null {
  const [path, anchor] = target.split('#');
  const abs = join(REPO, path);
  if (!abs.startsWith(REPO) || !existsSync(abs)) return `no file ${path}`;
  if (anchor === undefined) return null;
  if (!statSync(abs).isFile() || extname(path) !== '.md') return `${path} is not a markdown file, so it has no #${anchor}`;
  return anchorsOf(relative(REPO, abs).split('\\').join('/')).has(anchor) ? null : `${path} has no heading #${anchor}`;
}

/** Every docs/… citation in text, as written from the repository root. */
function docsCitations(s: string): string[] {
  return [...s.matchAll(/(?<![\w./-])docs\/([\w.-]+\.md)(?:#([\w-]+))?/g)].map((m) => `docs/${m[1]}${m[2] ? `#${m[2]}` : ''}`);
}

/** Each line of each scanned file matched by `re`, as "file:line: text". */
function linesMatching(re: RegExp): string[] {
  const out: string[] = [];
  for (const [f, s] of text) s.split('\n').forEach((line, i) => re.test(line) && out.push(`${f}:${i + 1}: ${line.trim()}`));
  return out;
}

describe('citations', () => {
  it('scans the code and the docs', () => {
    // A guard against a scan that silently finds nothing (a moved folder, a wrong root).
    expect(scanned).toContain('fabric/spec/presets.ts');
    expect(scanned).toContain('docs/hardware.md');
    expect(scanned).toContain('README.md');
  });

  it('no citation points outside the repository', () => {
    expect(linesMatching(/facts §/)).toEqual([]);
    expect(linesMatching(/(?<![\w/.-])DESIGN\.md/)).toEqual([]);
    expect(linesMatching(/\.\.\/shared\b|(?<![\w-])shared\/(facts|notes|testdata|data|hooks|DESIGN)\b/)).toEqual([]);
  });

  it('every docs/… citation names a file and heading that exist', () => {
    const broken: string[] = [];
    let count = 0;
    for (const [f, s] of text) {
      for (const c of docsCitations(s)) {
        count++;
        const why = unresolved(c);
        if (why) broken.push(`${f}: ${c}: ${why}`);
      }
    }
    expect(broken).toEqual([]);
    // The presets and cost functions cite docs/hardware.md and docs/models.md heading by heading.
    expect(count).toBeGreaterThan(100);
  });

  it('every data/… file a comment or a doc cites exists', () => {
    const broken: string[] = [];
    for (const [f, s] of text) {
      // Only prose: code may build paths such as 'data/x.json' inside a temporary directory.
      const prose = extname(f) === '.md' ? s.split('\n') : s.split('\n').filter((l) => /^\s*(\/\/|\*|\/\*)/.test(l));
      for (const line of prose) {
        for (const m of line.matchAll(/(?<![\w./-])data\/[\w.-]+(?:\/[\w.-]+)*\.(?:csv|json|md)\b/g)) if (!existsSync(join(REPO, m[0]))) broken.push(`${f}: ${m[0]}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('every repository path the docs name in backticks exists', () => {
    // Code moves between files; a page that still names the old file misleads a newcomer.
    const broken: string[] = [];
    for (const [f, s] of text) {
      if (extname(f) !== '.md' || !(f === 'README.md' || f.startsWith('docs/'))) continue;
      for (const m of s.matchAll(/`((?:compiler|fabric|kernels|src|bench|scripts|test|types|bin|docs)\/[^`\s]*)`/g)) {
        const path = m[1].split('#')[0];
        if (/[*<…]/.test(path)) continue; // a pattern or a placeholder, not a path
        if (!existsSync(join(REPO, path))) broken.push(`${f}: ${m[1]}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('every relative link in the markdown files resolves', () => {
    const broken: string[] = [];
    for (const [f, s] of text) {
      if (extname(f) !== '.md') continue;
      for (const m of s.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1];
        if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
        const joined = target.startsWith('#') ? `${f}${target}` : relative(REPO, join(REPO, dirname(f), target)).split('\\').join('/');
        const why = unresolved(joined);
        if (why) broken.push(`${f}: (${target}): ${why}`);
      }
    }
    expect(broken).toEqual([]);
  });
});

describe('scripts/rewrite-citations.mjs', () => {
  // Old forms as they were written in this repository, one per rule of the script.
  const OLD = [
    'clockHz: 1.1e9, // max clock 1.1 GHz (facts §1.1; WaferLLM §7, HC34) — see the header for why not 850 MHz',
    '// Dense FP16: 745,500 × 4 FMAC × 2 × 1.1 GHz = 6.56 PFLOP/s (facts §1.1 derived: 7.5 PF for 850k cores).',
    "it('wse2 comes out near the published aggregates (facts §1.1)', () => {",
    'widthTiles: 750, // WSE-2 program rectangle 750 × 994 (facts §1.2)',
    'f32: 1, // `@fmacs` not listed, presumably 1 (facts §1.3 "[?]", §8)',
    'sramBytesPerTile: 48 * 1024, // 48 KB per PE (facts §1.1, §1.3)',
    'rampLatencyCycles: 2, // CE<->router ramp T_R ≈ 2 cycles (facts §1.3, Luczynski et al.; §8 "[?]")',
    'colours: 24, // 24 routable colours, 5-bit tag (facts §1.3)',
    'queueDepthWavelets: 8, // assumption: hardware queues are "small" (facts §1.3); 8 input queues on WSE-3',
    '// Clock: the SDK examples convert cycles to time at 850 MHz (facts §1.3, §9), but',
    '/** facts §1.4: Azure measured 7.35 TB/s of HBM on GB200 = 92% of peak */',
    'spareColumns: 55, // 900,000 enabled of 970,000 physical cores ≈ 7.2% spare (facts §2)',
    'hbmBytes: 80 * GB, // facts §5: 80 GB HBM2e',
    '// as an assumption. NVIDIA datasheets quote tensor FLOP/s "with sparsity"; every figure here is DENSE (facts §5 note).',
    "it('lands below the facts §5 roofline (209 tokens/s)', () => {",
    "source: 'facts §6 (Llama-3.1-8B row: HF config / arXiv 2407.21783 Table 3)',",
    "source: 'facts §6 (Qwen3-32B row: config copies)',",
    "source: 'facts §6 (gpt-oss-20b row: OpenAI model card; HF config diff)',",
    "source: 'facts §6 (Kimi K2 row: model card table; config copies)',",
    "source: 'public config.json of mistralai/Mixtral-8x7B-v0.1 (not in facts §6; values as given in the team brief)',",
    "it('is close to the facts §6 totals of the large models', () => {",
    '// speculative decoding figures (facts §7)',
    '// Frozen fabric presets. Every number cites ../shared/facts/hardware.md ("facts §N") or says "assumption".',
    '// and rate positive); presets are frozen, and every number is cited to shared/facts/hardware.md ("facts §5") or marked',
    '// shared/facts/hardware.md §6 ("facts §6") or the public config.json it was copied from; values the facts table does',
    '// Assumed defaults shared by every preset (not in the facts file; documented here, overridable per spec file).',
    '// comlink ships no `exports` map: its Node adapter is imported by file (shared/notes/toolchain.md pitfall 4).',
    '// Worker on a .ts file fails on Node 20; shared/notes/toolchain.md pitfall 3). workerData.entry: the entry file URL.',
    ' * about one pool round trip, ~45 µs, shared/notes/toolchain.md: about what the wasm matvec does in 100k MACs).',
    '// never drift (DESIGN.md "two levels of truth"). Every constant is either a spec field (cited in presets.ts to',
    "...layer('src', ['bench', 'test'], 'nothing imports bench/ or test/ (DESIGN.md layers).'),",
    '// exactly the same numbers (DESIGN.md: never two formulas that can drift).',
    '// reads over the pure parsers of compiler/model (only src/ touches files, DESIGN.md).',
    '// The core (kernels, fabric, compiler) loads in a browser (DESIGN.md): no Node built-in',
  ];

  it.each(OLD)('rewrites %s into citations that resolve, and leaves its own output alone', (line) => {
    const [out, n] = rewriteLine(line);
    expect(n).toBeGreaterThan(0);
    expect(out).not.toMatch(/facts §|shared\/|(?<![\w/.-])DESIGN\.md/);
    const cited = docsCitations(out);
    expect(cited.length).toBeGreaterThan(0);
    expect(cited.map(unresolved).filter((x) => x !== null)).toEqual([]);
    expect(rewriteLine(out)).toEqual([out, 0]);
  });

  it('maps the shared data folders onto their copies in the repository', () => {
    expect(rewriteLine('// fitted to ../shared/data/gpu-measured/nim-llama3.csv (NIM runs)')).toEqual(['// fitted to data/gpu-measured/nim-llama3.csv (NIM runs)', 1]);
    const [out, n] = rewriteLine("copied from the team's `shared/testdata/tiny-llama`");
    expect([out, n]).toEqual(["copied from the team's `test/fixtures/tiny-llama`", 1]);
    expect(existsSync(join(REPO, 'test/fixtures/tiny-llama'))).toBe(true);
    expect(rewriteLine('see ../shared/DESIGN.md')).toEqual(['see docs/design.md', 1]);
  });

  it("leaves a paper's own section numbers alone", () => {
    const [out] = rewriteLine('clockHz: 1.1e9, // max clock 1.1 GHz (facts §1.1; WaferLLM §7, HC34)');
    expect(out).toContain('WaferLLM §7');
  });
});
