import { describe, expect, it } from 'vitest';
import { peerKey } from './connection-guard.js';

describe('peerKey', () => {
  it('counts IPv4 peers by address, also when IPv4-mapped', () => {
    expect(peerKey('127.0.0.1')).toBe('127.0.0.1');
    expect(peerKey('::ffff:10.1.2.3')).toBe('10.1.2.3');
  });

  it('counts IPv6 peers by their /64, however the address is written', () => {
    expect(peerKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(peerKey('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(peerKey('2001:0db8:0001:0002::')).toBe('2001:db8:1:2::/64');
    expect(peerKey('2001:db8::5')).toBe('2001:db8:0:0::/64');
    expect(peerKey('::1')).toBe('0:0:0:0::/64');
    expect(peerKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });
});
