/** The notify-destination allow-list: prefixes per PI, the PPG origin by default, normalised URLs. */
import { describe, expect, it } from 'vitest';
import { NotifyAllowList } from '../../src/intake/guard/notify-allow-list.js';

describe('NotifyAllowList', () => {
  it('allows only the origin of ppg.handBackUrl by default', () => {
    const list = new NotifyAllowList({ handBackUrl: 'http://ppg.example:8181/pap' });
    expect(list.allowed('pi', 'http://ppg.example:8181/notify?id=1')).toBe(true);
    expect(list.allowed('pi', 'HTTP://PPG.EXAMPLE:8181/notify')).toBe(true);
    expect(list.allowed('pi', 'http://ppg.example:8182/notify')).toBe(false);
    expect(list.allowed('pi', 'https://ppg.example:8181/notify')).toBe(false);
    expect(list.allowed('pi', 'http://ppg.example:8181.evil.example/notify')).toBe(false);
    expect(list.allowed('pi', 'http://ppg.example.evil.example:8181/')).toBe(false);
    expect(list.allowed('pi', 'http://169.254.169.254/latest/meta-data')).toBe(false);
    expect(list.allowed('pi', 'not a url')).toBe(false);
  });

  it("a PI's own prefixes replace the default; intake.notifyPrefixes applies to the others; [] allows none", () => {
    const list = new NotifyAllowList({
      handBackUrl: 'http://ppg.example/pap',
      defaultPrefixes: ['https://notify.example/all/'],
      users: [
        { name: 'a', notifyPrefixes: ['https://a.example:443/n/'] },
        { name: 'none', notifyPrefixes: [] },
      ],
    });
    expect(list.allowed('a', 'https://a.example/n/1')).toBe(true);
    expect(list.allowed('a', 'https://a.example/n-other/1')).toBe(false);
    expect(list.allowed('a', 'https://notify.example/all/1')).toBe(false);
    expect(list.allowed('b', 'https://notify.example/all/1')).toBe(true);
    expect(list.allowed('b', 'http://ppg.example/n')).toBe(false);
    expect(list.allowed('none', 'http://ppg.example/n')).toBe(false);
  });
});
