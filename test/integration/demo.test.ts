/**
 * `npm run demo` end to end, real processes: the demo's own Kamailio, SIPp users, PPG stand-in and
 * agent. It must tell the story (PAP answers, the MESSAGE alice received, the 3010 hint, the hand-back,
 * the notifications, the table) and leave no process behind, after a full run and after Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { groupAlive, pidAlive, signalGroup, terminateGroup } from '../support/cleanup.js';
import { waitUntil } from '../support/poll.js';
import { kamailioMissingReason } from '../support/kamailio.js';
import { sippMissingReason } from '../support/sipp.js';
import { repoRoot } from '../support/repo-paths.js';

const missing = kamailioMissingReason() ?? sippMissingReason();
if (missing) console.warn(`demo.test.ts skipped: ${missing}`);

interface DemoRun {
  pid: number;
  output: () => string;
  exited: Promise<number | null>;
}

const started: number[] = [];
afterAll(async () => {
  for (const pid of started) await terminateGroup(pid);
});

/** `npm run demo` in its own process group (a terminal's Ctrl-C signals that whole group). */
function runDemo(): DemoRun {
  const child = spawn('npm', ['run', 'demo'], {
    cwd: repoRoot,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  if (child.pid === undefined) throw new Error('npm did not start');
  started.push(child.pid);
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { pid: child.pid, output: () => out, exited };
}

/** Every `pid N` the demo printed (Kamailio, the SIPp UAS, the agent). */
function printedPids(text: string): number[] {
  return [...text.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
}

describe.skipIf(missing !== undefined)('npm run demo', () => {
  it('tells the story of four pushes and stops everything it started', async () => {
    const demo = runDemo();
    const code = await demo.exited;
    const out = demo.output();
    expect(code, out).toBe(0);
    expect(out.match(/PAP 1001 accepted for SIP delivery/g)).toHaveLength(3);
    expect(out).toMatch(/WBXML SI to alice -> HTTP 202, PAP 1001/);
    expect(out).toMatch(/text {5}to bob {3}-> HTTP 200, PAP 3010 handed back, hint SMS/);
    expect(out).toContain('X-Push-Bearer-Hint: SMS; response-result desc="SIP bearer not available');
    // The MESSAGE as alice's UA received it, through Kamailio.
    expect(out).toMatch(/^ {4}MESSAGE sip:alice@127\.0\.0\.1:\d+ SIP\/2\.0$/m);
    expect(out).toContain('    Accept-Contact: *;+g.oma.pusheventapp="wml.ua"');
    expect(out).toMatch(/^ {4}Hello alice, this is a push\.$/m);
    expect(out).toContain('Content-Type: application/vnd.wap.sic, Content-Length: 53 (the 53-byte WBXML SI)');
    // carol's hand-back: the hint in quality-of-service (no header), her number, her content unchanged.
    expect(out).toMatch(/POST \/handback {2}User-Agent: sip-push-agent\/\d/);
    expect(out).toContain('<address address-value="WAPPUSH=+358401234567/TYPE=PLMN"/>');
    expect(out).toMatch(/<push-message push-id="demo-carol"/);
    expect(out).toContain('<quality-of-service network-required="false" bearer="SMS" bearer-required="false"/>');
    expect(out).toContain('the original content, 11 bytes, byte-exact');
    expect(out).toMatch(/demo-alice-text +message-state="delivered" code="1000"/);
    expect(out).toMatch(/demo-alice-si +message-state="delivered" code="1000"/);
    expect(out).toMatch(/demo-carol +message-state="unknown" code="1001" desc="Handed back to the PPG for bearer SMS/);
    expect(out).toMatch(/sip:alice@127\.0\.0\.1 +reachable /);
    expect(out).toMatch(/sip:bob@127\.0\.0\.1 +unreachable reason: no usable SIP service \(basic is closed\)/);
    expect(out).toMatch(/sip:carol@127\.0\.0\.1 +unreachable reason: delivery failed \(480\)/);
    expect(out).toMatch(/^stopped: kamailio \(pid \d+\), .*sip-push-agent \(pid \d+\)$/m);
    const pids = printedPids(out);
    expect(pids.length).toBeGreaterThanOrEqual(4);
    expect(pids.filter(pidAlive)).toEqual([]);
    const seconds = Number(/done in ([\d.]+) s/.exec(out)?.[1]);
    // Alone it takes 16-20 s (README); the bound leaves room for a CI machine busy with other suites.
    expect(seconds).toBeLessThan(120);
  }, 120_000);

  it('on Ctrl-C (SIGINT to its process group) stops every process it started and exits 130', async () => {
    const demo = runDemo();
    // Interrupt while everything runs: once the agent is up, before the pushes.
    const up = await waitUntil(() => /agent: PAP .* pid \d+/.test(demo.output()), 90_000);
    expect(up, demo.output()).toBe(true);
    const pids = printedPids(demo.output());
    expect(pids.every(pidAlive)).toBe(true);
    signalGroup(demo.pid, 'SIGINT');
    expect(await demo.exited).toBe(130);
    const out = demo.output();
    expect(out).toContain('SIGINT: stopping everything');
    expect(out).toMatch(/^stopped: kamailio \(pid \d+\)/m);
    expect(out).not.toContain('demo failed');
    expect(pids.filter(pidAlive)).toEqual([]);
    expect(groupAlive(demo.pid)).toBe(false);
  }, 120_000);
});
