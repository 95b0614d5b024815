// Types of fuse-mul-adds.mjs, for the tests.
/** The .wat text with every `(f32x4.add (local.get $acc) (f32x4.mul A B))` as `(f32x4.relaxed_madd A B (local.get $acc))`. */
export declare function fuseMulAdds(wat: string): { text: string; fused: number };
