// What the screenshot and timing scripts share: Debian's Chromium with the flags this machine's closed network needs
// (without the background-networking ones it keeps trying hosts it cannot reach), and `wafer lab` started on a free
// local port.
import { spawn } from 'node:child_process';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Starts `wafer lab` on a free 127.0.0.1 port; resolves to the server process and the URL it printed. */
export async function startLab() {
  const server = spawn(process.execPath, ['bin/wafer.mjs', 'lab', '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((done, fail) => {
    let text = '';
    server.stdout.on('data', (d) => {
      text += d;
      try {
        done(JSON.parse(text).url);
      } catch {
        // not the whole document yet
      }
    });
    server.on('exit', (code) => fail(new Error(`wafer lab exited with ${code}`)));
  });
  return { server, url };
}
