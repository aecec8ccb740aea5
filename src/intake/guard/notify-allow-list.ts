/**
 * Where a PI may have result notifications sent (`ppg-notify-requested-to`, the JSON API's `notifyUrl`).
 * The agent POSTs there and retries until acknowledged, so an unchecked URL lets any PI aim the agent at
 * any host it can reach (internal services included) and keep it busy with retries.
 *
 * A URL is allowed when, normalised (WHATWG URL: lower-case scheme and host, default port dropped), it
 * starts with one of the PI's prefixes: `intake.auth.users[].notifyPrefixes`, else
 * `intake.notifyPrefixes`, else the origin of `ppg.handBackUrl` (the PPG the agent already talks to,
 * where a PPG's own notification endpoint normally lives). An empty list allows none. End a prefix with
 * `/` so that `http://ppg/notify/` does not also admit `http://ppg/notify-other`. Pure.
 */

export interface NotifyAllowListConfig {
  /** `ppg.handBackUrl`: its origin is the default prefix. */
  handBackUrl: string;
  /** `intake.notifyPrefixes`: for every PI without its own. */
  defaultPrefixes?: readonly string[];
  /** `intake.auth.users[]`: per-PI prefixes. */
  users?: ReadonlyArray<{ name: string; notifyPrefixes?: readonly string[] }>;
}

function normalised(url: string): string | undefined {
  try {
    return new URL(url).href;
  } catch {
    return undefined;
  }
}

export class NotifyAllowList {
  private readonly fallback: readonly string[];
  private readonly perPi = new Map<string, readonly string[]>();

  constructor(config: NotifyAllowListConfig) {
    const prefixes = (list: readonly string[]) => list.map(normalised).filter((p): p is string => p !== undefined);
    this.fallback = config.defaultPrefixes ? prefixes(config.defaultPrefixes) : [`${new URL(config.handBackUrl).origin}/`];
    for (const user of config.users ?? []) {
      if (user.notifyPrefixes) this.perPi.set(user.name, prefixes(user.notifyPrefixes));
    }
  }

  /** The prefixes that apply to `pi`. */
  prefixesFor(pi: string): readonly string[] {
    return this.perPi.get(pi) ?? this.fallback;
  }

  allowed(pi: string, url: string): boolean {
    const href = normalised(url);
    return href !== undefined && this.prefixesFor(pi).some((prefix) => href.startsWith(prefix));
  }
}
