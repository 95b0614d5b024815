// The execArgv a piscina worker on a TypeScript file needs: tsx registered by absolute URL, since a bare
// `--import tsx` resolves from the cwd and fails outside the repository.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

export const TSX_EXEC_ARGV: readonly string[] = Object.freeze(['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href]);
