/**
 * A user population on the core: `reachable` users REGISTER a Contact on the shared SIPp UAS and PUBLISH
 * `open`; the others are SIP-unreachable: they PUBLISH `closed` and never register (Kamailio answers a
 * MESSAGE to them 480). CSV-driven SIPp runs (test/sipp/register-csv.xml, publish-csv.xml).
 */
import { runSipp, writeSippCsv } from '../../test/support/sipp.js';
import { makeTempDir } from '../../test/support/repo-paths.js';

export interface PopulationUser {
  name: string;
  aor: string;
  reachable: boolean;
}

export interface Population {
  users: PopulationUser[];
  reachable: PopulationUser[];
  unreachable: PopulationUser[];
}

/** `count` users named `<prefix>000001…`; unreachable ones spread evenly (every k-th user). */
export function makePopulation(prefix: string, count: number, unreachableShare: number, domain: string): Population {
  const users: PopulationUser[] = [];
  let debt = 0;
  for (let i = 1; i <= count; i++) {
    debt += unreachableShare;
    const unreachable = debt >= 1 - 1e-9;
    if (unreachable) debt -= 1;
    const name = `${prefix}${String(i).padStart(6, '0')}`;
    users.push({ name, aor: `sip:${name}@${domain}`, reachable: !unreachable });
  }
  return { users, reachable: users.filter((u) => u.reachable), unreachable: users.filter((u) => !u.reachable) };
}

async function runCsv(
  scenario: string,
  core: { host: string; port: number },
  rows: string[][],
  keys: Record<string, string>,
  maxRate = 1000,
): Promise<void> {
  if (rows.length === 0) return;
  const dir = makeTempDir('bench-pop');
  const csv = writeSippCsv(dir, 'users.csv', rows);
  const rate = Math.min(maxRate, rows.length);
  const handle = await runSipp({
    scenario,
    remote: `${core.host}:${core.port}`,
    calls: rows.length,
    rate,
    injectCsv: csv,
    keys,
    // Margin for a loaded core: the calls go out at `rate`, their answers may lag.
    timeoutS: Math.ceil((rows.length / rate) * 1.5) + 30,
    tmpDir: dir,
  });
  const result = await handle.done;
  if (result.code !== 0)
    throw new Error(`${scenario}: sipp exit ${result.code} for ${rows.length} users\n${handle.errorsLog().slice(0, 2000)}`);
}

/** REGISTER the reachable users (Contact = the UAS) and PUBLISH everyone's presence. */
export async function provision(
  core: { host: string; port: number },
  population: Population,
  uas: { host: string; port: number },
): Promise<void> {
  const domain = core.host;
  await runCsv(
    'test/sipp/register-csv.xml',
    core,
    population.reachable.map((u) => [u.name, uas.host, String(uas.port)]),
    {
      domain,
      expires: '3600',
    },
  );
  await runCsv(
    'test/sipp/publish-csv.xml',
    core,
    population.users.map((u) => [u.name, u.reachable ? 'open' : 'closed', 'org.openmobilealliance:Push']),
    { domain, expires: '3600' },
  );
}

/**
 * PUBLISH every user's presence again (same state): a NOTIFY wave, one NOTIFY per user to each
 * watcher. Used to measure what a NOTIFY costs the agent.
 */
export async function republish(core: { host: string; port: number }, population: Population): Promise<void> {
  await runCsv(
    'test/sipp/publish-csv.xml',
    core,
    population.users.map((u) => [u.name, u.reachable ? 'open' : 'closed', 'org.openmobilealliance:Push']),
    { domain: core.host, expires: '3600' },
  );
}

/**
 * A watched population for the scale run: every user PUBLISHes `open` (so each SUBSCRIBE and refresh
 * gets a PIDF NOTIFY), only the first `registered` REGISTER a Contact on the UAS (the ones pushed to).
 */
export async function provisionWatched(
  core: { host: string; port: number },
  population: Population,
  uas: { host: string; port: number },
  registered: number,
  rate: number,
): Promise<void> {
  const domain = core.host;
  await runCsv(
    'test/sipp/register-csv.xml',
    core,
    population.users.slice(0, registered).map((u) => [u.name, uas.host, String(uas.port)]),
    { domain, expires: '3600' },
    rate,
  );
  await runCsv(
    'test/sipp/publish-csv.xml',
    core,
    population.users.map((u) => [u.name, 'open', 'org.openmobilealliance:Push']),
    { domain, expires: '3600' },
    rate,
  );
}
