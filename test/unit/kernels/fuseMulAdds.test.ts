// scripts/fuse-mul-adds.mjs: the rewrite that makes the relaxed-SIMD build of kernels/wasm/matvec.wat.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fuseMulAdds } from '../../../scripts/fuse-mul-adds.mjs';

describe('fuseMulAdds', () => {
  it('fuses an accumulating add of a product, keeping the operands and their comments', () => {
    const src = '(local.set $a (f32x4.add (local.get $a)\n  (f32x4.mul (v128.load (local.get $p)) ;; w (a comment with a paren)\n (local.get $x))))';
    expect(fuseMulAdds(src)).toEqual({
      text: '(local.set $a (f32x4.relaxed_madd (v128.load (local.get $p)) (local.get $x) (local.get $a)))',
      fused: 1,
    });
  });

  it('leaves every other add alone: no product, the product first, a non-local accumulator', () => {
    for (const src of [
      '(f32x4.add (local.get $a) (local.get $b))',
      '(f32x4.add (f32x4.mul (local.get $x) (local.get $y)) (local.get $a))',
      '(f32x4.add (v128.load (local.get $p)) (f32x4.mul (local.get $x) (local.get $y)))',
      '(f32x4.add (local.get $a) (f32x4.mul (local.get $x) (local.get $y)) (local.get $z))',
    ])
      expect(fuseMulAdds(src)).toEqual({ text: src, fused: 0 });
  });

  it('fuses multiply-adds inside the factors too, and no accumulation of a product is left unfused in the matvec kernels', () => {
    const nested = '(f32x4.add (local.get $a) (f32x4.mul (f32x4.add (local.get $b) (f32x4.mul (local.get $x) (local.get $y))) (local.get $z)))';
    expect(fuseMulAdds(nested)).toEqual({ text: '(f32x4.relaxed_madd (f32x4.relaxed_madd (local.get $x) (local.get $y) (local.get $b)) (local.get $z) (local.get $a))', fused: 2 });
    const wat = readFileSync(new URL('../../../kernels/wasm/matvec.wat', import.meta.url), 'utf8');
    const { text, fused } = fuseMulAdds(wat);
    const accumulations = (s: string) => s.match(/\(f32x4\.add\s+\(local\.get \$\w+\)\s+\(f32x4\.mul/g)?.length ?? 0;
    expect(fused).toBe(accumulations(wat));
    expect(fused).toBeGreaterThanOrEqual(36); // f32, bf16 and f16 inner loops
    expect(accumulations(text)).toBe(0);
  });

  it('names an unbalanced form', () => {
    expect(() => fuseMulAdds('(f32x4.add (local.get $a) (f32x4.mul (x)')).toThrow(/unbalanced parentheses from offset 0/);
  });
});
