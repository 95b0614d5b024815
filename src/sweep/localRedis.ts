// A local redis-server for the tests and `wafer bench sweep`: started on a free port (127.0.0.1 only, nothing saved
// to disk) and stopped after. Where redis-server is not installed, `startRedis` returns null and the caller skips.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createConnection, createServer } from 'node:net';

export interface RedisServer {
  port: number;
  url: string;
  stop(): Promise<void>;
}

export function redisServerInstalled(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A port nothing listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** True once the server answers PING with PONG. */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ host: '127.0.0.1', port });
    let got = '';
    c.once('error', () => resolve(false));
    c.on('data', (d) => {
      got += d.toString();
      if (got.includes('\r\n')) {
        c.destroy();
        resolve(got.startsWith('+PONG'));
      }
    });
    c.once('connect', () => c.write('PING\r\n'));
  });
}

export async function startRedis(): Promise<RedisServer | null> {
  if (!redisServerInstalled()) return null;
  const port = await freePort();
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  for (let i = 0; i < 100 && !(await pong(port)); i++) await new Promise((r) => setTimeout(r, 50));
  if (!(await pong(port))) {
    child.kill('SIGKILL');
    throw new Error(`redis-server did not answer on port ${port}`);
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
