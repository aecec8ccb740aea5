/**
 * Runs one bench script as a child process in another checkout (`--child <root> …args`, cwd there, so
 * that checkout's modules are measured) and resolves to the first JSON line it prints. Bounded: a child
 * stuck for `timeoutMs` is killed and the run fails, saying what the child printed last.
 */
import { spawn } from 'node:child_process';

export function runJsonChild<T>(script: string, root: string, args: string[], timeoutMs = 120_000): Promise<T> {
  return new Promise((resolveRun, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', script, '--child', root, ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (code !== 0 || !line) return reject(new Error(`${script} child for ${root} failed (exit ${code}): ${out.slice(-1500)}`));
      resolveRun(JSON.parse(line) as T);
    });
    proc.once('error', reject);
  });
}
