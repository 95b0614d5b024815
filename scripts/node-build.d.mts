// Types of node-build.mjs, for the tests.
export declare const NODE_BUILD_DIRS: string[];
export declare function tsFiles(dir: string): string[];
export declare function nodeBuildStart(root: string): number | null;
export declare function nodeBuildFresh(root: string): boolean;
