// CLI tests for `wafer model` and `wafer generate`, spawning bin/wafer.mjs (each spawn costs ~0.7 s, so few).
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = mkdtempSync(join(tmpdir(), 'wafer-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function wafer(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/wafer.mjs', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('wafer model init + generate', () => {
  const dir = join(root, 'm');

  it('init writes config.json and model.safetensors; generate --json prints 16 ids, the same on every run and as the preset', () => {
    const init = wafer('model', 'init', 'toy-moe', '--out', dir, '--quiet');
    expect(init.code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors']);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))).toMatchObject({ model_type: 'mixtral', num_local_experts: 8, _name_or_path: 'toy-moe' });
    const a = wafer('generate', '--model', dir, '--prompt', '1,2,3', '--tokens', '16', '--json');
    expect(a.code).toBe(0);
    const tokens = (JSON.parse(a.stdout) as { tokens: number[] }).tokens;
    expect(Object.keys(JSON.parse(a.stdout))).toEqual(['tokens']);
    expect(tokens).toHaveLength(16);
    for (const t of tokens) expect(Number.isInteger(t) && t >= 0 && t < 512).toBe(true);
    const b = wafer('generate', '--model', dir, '--prompt', '1,2,3', '--tokens', '16', '--json');
    expect(b.stdout).toBe(a.stdout);
    // A preset without weights uses the same synthetic weights as model init with that seed (default 0).
    const p = wafer('generate', '--model', 'toy-moe', '--prompt', '1,2,3', '--tokens', '16', '--json', '--logits');
    const pj = JSON.parse(p.stdout) as { tokens: number[]; logits: number[] };
    expect(pj.tokens).toEqual(tokens);
    expect(pj.logits).toHaveLength(512);
    expect(pj.logits.indexOf(Math.max(...pj.logits))).toBe(tokens[15]);
  });

  it('init refuses an existing directory without --force', () => {
    const r = wafer('model', 'init', 'toy-dense', '--out', dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`error: output directory already exists (--out ${dir}): choose a new directory or pass --force to overwrite\n`);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).model_type).toBe('mixtral');
  });

  it('init refuses a config-only preset and writes nothing', () => {
    const out = join(root, 'big');
    const r = wafer('model', 'init', 'llama-3.1-8b', '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: preset llama-3.1-8b is config-only (8.0B parameters, no weights) (<preset>): use toy-dense, toy-moe, gpt2-small-dense, tinyllama-1b-dense, or a model directory\n');
    expect(existsSync(out)).toBe(false);
  });

  it('generate rejects a token id outside the vocabulary', () => {
    const r = wafer('generate', '--model', dir, '--prompt', '1,512', '--tokens', '2');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: token id 512 is outside the vocabulary of 512 (--prompt): use ids below 512\n');
  });

  it('model show --json describes the directory: normalised config, parameters, checkpoint', () => {
    const r = wafer('model', 'show', dir, '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { config: { family: string; moe: { topK: number } }; parameters: { total: number }; checkpoint: { tensors: number; dtypes: Record<string, number> } };
    expect(j.config.family).toBe('mixtral');
    expect(j.config.moe.topK).toBe(2);
    expect(j.parameters.total).toBe(7_350_528);
    expect(j.checkpoint.tensors).toBe(127);
    expect(j.checkpoint.dtypes).toEqual({ F32: 127 });
  });
});
