// Rewrites every `(f32x4.add (local.get $acc) (f32x4.mul A B))` of a .wat text into `(f32x4.relaxed_madd A B
// (local.get $acc))`: the relaxed-SIMD twin of a kernel module, assembled next to the portable one by build-wasm.mjs.
// relaxed_madd may fuse (one rounding, as x86 FMA does) or not; kernels/wasmKernels.ts picks the twin only where the
// engine validates it, and the kernels' stated tolerances hold for both roundings.

/** The end (exclusive) of the balanced s-expression that starts at text[start] === '('; comments (;; …) skipped. */
function sexprEnd(text, start) {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === ';' && text[i + 1] === ';') {
      i = text.indexOf('\n', i);
      if (i < 0) break;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  throw new Error(`fuse-mul-adds: unbalanced parentheses from offset ${start}`);
}

/** The s-expressions that follow `head` inside the form at text[start..end), as text. */
function operands(text, start, end, head) {
  const out = [];
  let i = start + 1 + head.length;
  for (;;) {
    while (i < end && (/\s/.test(text[i]) || text.startsWith(';;', i))) i = text.startsWith(';;', i) ? text.indexOf('\n', i) + 1 || end : i + 1;
    if (i >= end - 1) return out;
    if (text[i] !== '(') return null; // a bare operand (folded forms only)
    const j = sexprEnd(text, i);
    out.push(text.slice(i, j));
    i = j;
  }
}

/** @returns {{ text: string, fused: number }} */
export function fuseMulAdds(wat) {
  const head = '(f32x4.add';
  let out = '';
  let pos = 0;
  let fused = 0;
  for (let i = wat.indexOf(head, pos); i >= 0; i = wat.indexOf(head, pos)) {
    const end = sexprEnd(wat, i);
    const ops = operands(wat, i, end, head.slice(1));
    const [acc, mul] = ops ?? [];
    const factors = ops?.length === 2 && acc.startsWith('(local.get ') && mul.startsWith('(f32x4.mul') ? operands(mul, 0, mul.length, 'f32x4.mul') : null;
    if (factors?.length !== 2) {
      out += wat.slice(pos, i + head.length);
      pos = i + head.length;
      continue;
    }
    // the factors may hold multiply-adds of their own
    const [a, b] = factors.map((f) => fuseMulAdds(f));
    out += `${wat.slice(pos, i)}(f32x4.relaxed_madd ${a.text} ${b.text} ${acc})`;
    pos = end;
    fused += 1 + a.fused + b.fused;
  }
  return { text: out + wat.slice(pos), fused };
}
