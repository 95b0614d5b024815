// Types of rewrite-citations.mjs, for the tests.
/** One line with every old-style citation made a docs/ link; the number of citations rewritten. */
export declare function rewriteLine(line: string): [string, number];
/** A whole file's text, line by line; the count rewritten. */
export declare function rewriteText(text: string): [string, number];
