/**
 * A loopback packet capture for byte-exact wire checks. SIPp's -trace_msg writes messages as C strings
 * (cut at the first NUL), so a byte-exact check of a binary body needs the wire: tcpdump on `lo` for
 * one port, then a search of the capture.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { terminateGroup, trackProcess, untrackProcess } from './cleanup.js';
import { letTimePass, waitUntil } from './poll.js';
import { makeTempDir } from './repo-paths.js';

export const hasTcpdump = !spawnSync('tcpdump', ['--version']).error;
if (!hasTcpdump) console.warn('loopback capture: tcpdump absent, binary bodies are checked by byte counts only');

export async function captureLoopback(port: number): Promise<{ stop(): Promise<Buffer> } | undefined> {
  if (!hasTcpdump) return undefined;
  const file = join(makeTempDir('pcap'), 'lo.pcap');
  const proc = spawn('tcpdump', ['-i', 'lo', '-U', '--immediate-mode', '-n', '-w', file, 'port', String(port)], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const pid = proc.pid;
  if (pid === undefined) return undefined;
  trackProcess({ name: 'tcpdump', pid, stop: () => terminateGroup(pid, 2_000) });
  let stderr = '';
  let exited = false;
  proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  proc.once('close', () => {
    exited = true;
    untrackProcess(pid);
  });
  if (!(await waitUntil(() => stderr.includes('listening on') || exited, 5_000)) || exited) {
    console.warn(`loopback capture: tcpdump did not start (${stderr.trim()}); byte counts only`);
    await terminateGroup(pid, 1_000);
    return undefined;
  }
  // "listening on" can precede the filter taking effect, and nothing the capture could see can be sent to
  // find out without disturbing the peer on that port: a fixed grace.
  await letTimePass(300);
  return {
    async stop() {
      await letTimePass(100); // packets already sent are still on their way into the file: a fixed grace
      await terminateGroup(pid, 2_000);
      await waitUntil(() => exited, 2_000);
      return existsSync(file) ? readFileSync(file) : Buffer.alloc(0);
    },
  };
}
