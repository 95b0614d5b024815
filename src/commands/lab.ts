// `wafer lab`: the lab page (lab/) — build it if its sources changed, then serve it on 127.0.0.1 and print the URL;
// or, with --out DIR, write the static site for any static host.
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { Command } from 'commander';
import { InputError } from '../../fabric/errors.js';
import { printJson, printText } from '../io/output.js';
import { parseIntOption } from '../io/parse.js';
import { action } from './action.js';

interface Options {
  out?: string;
  port: string;
  rebuild: boolean;
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/**
 * A static server for `dir` on 127.0.0.1 (GET and HEAD only, nothing outside `dir`). With `isolate` (the default),
 * cross-origin isolated (COOP + COEP), so the page has SharedArrayBuffer as Node does; without, it is any static host
 * (the page works there too: docs/lab.md, "Shared memory").
 */
export function serveStatic(dir: string, port: number, opts: { isolate?: boolean } = {}): Promise<{ server: Server; url: string }> {
  const isolation = opts.isolate === false ? {} : { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
  const root = resolve(dir);
  const server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    const file = normalize(join(root, path === '/' ? 'index.html' : path));
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
      ...isolation,
    });
    res.end(req.method === 'HEAD' ? undefined : readFileSync(file));
  });
  return new Promise((done, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      fail(e.code === 'EADDRINUSE' ? new InputError(`port ${port} is in use`, '--port', 'choose another port, or --port 0 for any free one') : e),
    );
    server.listen(port, '127.0.0.1', () => {
      const a = server.address();
      done({ server, url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : port}/` });
    });
  });
}

export function register(program: Command): void {
  const cmd = new Command('lab')
    .description('the wafer lab in a browser: build the page if needed and serve it on 127.0.0.1, or write the static site with --out')
    .option('--out <dir>', 'write the static site here (a new or empty directory, or a previous lab output) instead of serving it')
    .option('--port <N>', 'port to serve on (0: any free port)', '5180')
    .option('--rebuild', 'build the site even if the cached build is up to date', false)
    .addHelpText('after', '\nExamples:\n  npx wafer lab                 # builds dist/lab if needed, serves it, prints the URL\n  npx wafer lab --out /tmp/lab  # the static site, for any static host');
  action<Options>(cmd, async (o, g) => {
    const port = parseIntOption(o.port, '--port', 0);
    if (port > 65535) throw new InputError(`port ${port}`, '--port', 'give 0 to 65535');
    // The build pulls in esbuild and the whole lab: loaded only when this command runs.
    const { LAB_CACHE, assertLabOutput, buildLab, isFresh } = await import('../../lab/build.js');
    const say = (s: string) => {
      if (!g.quiet && !g.json) process.stderr.write(`${s}\n`);
    };
    if (o.out !== undefined) {
      assertLabOutput(o.out);
      const r = await buildLab(o.out, { onStep: (s) => g.verbose && say(s) });
      if (g.json) printJson({ out: r.dir, files: r.files, bytes: r.bytes });
      else printText(`wrote the lab site to ${r.dir} (${r.files.join(', ')}; ${(r.bytes / 2 ** 20).toFixed(1)} MiB): serve the folder with any static server`);
      return;
    }
    if (o.rebuild || !isFresh(LAB_CACHE)) {
      say('building the lab site (dist/lab)…');
      await buildLab(LAB_CACHE, { onStep: (s) => g.verbose && say(s) });
    }
    const { url } = await serveStatic(LAB_CACHE, port);
    if (g.json) printJson({ url, dir: LAB_CACHE });
    else printText(`wafer lab: ${url}  (Ctrl-C stops it)`);
  });
  program.addCommand(cmd);
}
