/**
 * What every experiment shares: the tuned Kamailio, one SIPp MESSAGE UAS (every reachable user's
 * Contact), the PPG sink, the profile pointing at this core, and the plan (--quick / --full).
 */
import type { KamailioHandle } from '../../test/support/kamailio.js';
import { labProfile } from '../../test/support/agent-under-test.js';
import type { SipProfile } from '../../src/profiles/schema.js';
import type { PpgSink } from './ppg-sink.js';
import type { Report } from './report.js';

export interface Plan {
  name: 'quick' | 'full';
  /** Users in the throughput population (also the "subscriptions held" measurement). */
  throughputUsers: number;
  rates: number[];
  stepS: number;
  relayRates: number[];
  relayStepS: number;
  signallingUsers: number;
  signallingRate: number;
  unreachableShares: number[];
  /** RFC 3261 T1 for the agent's transactions. */
  t1Ms: number;
  tableSizes: number[];
  /** Seconds of 10× overload, and the sustainable rate assumed when throughput did not run. */
  overloadS: number;
  overloadFallbackRate: number;
  cpuProfile: boolean;
}

export const PLANS: Record<'quick' | 'full', Plan> = {
  quick: {
    name: 'quick',
    throughputUsers: 1000,
    rates: [50, 100, 200, 400, 800],
    stepS: 5,
    relayRates: [1000, 2000, 4000],
    relayStepS: 5,
    signallingUsers: 400,
    signallingRate: 40,
    unreachableShares: [0, 0.25, 0.5, 0.75],
    t1Ms: 100,
    tableSizes: [10_000, 100_000],
    overloadS: 10,
    overloadFallbackRate: 400,
    cpuProfile: false,
  },
  full: {
    name: 'full',
    throughputUsers: 5000,
    rates: [50, 100, 200, 400, 600, 800, 1000, 1200, 1600],
    stepS: 10,
    relayRates: [2000, 4000, 8000, 12000],
    relayStepS: 10,
    signallingUsers: 1000,
    signallingRate: 40,
    unreachableShares: [0, 0.25, 0.5, 0.75],
    t1Ms: 500,
    tableSizes: [10_000, 100_000, 1_000_000],
    overloadS: 20,
    overloadFallbackRate: 600,
    cpuProfile: false,
  },
};

export interface BenchEnv {
  plan: Plan;
  kamailio: KamailioHandle;
  uas: { host: string; port: number };
  sink: PpgSink;
  report: Report;
  /** Population prefixes already registered/published on this core. */
  provisioned: Set<string>;
  profile(): SipProfile;
}

/** The kamailio-lab profile aimed at this core; firstNotifyWait short so a cold user costs little. */
export function benchProfile(k: KamailioHandle): SipProfile {
  return labProfile(k);
}
