import { describe, expect, it } from 'vitest';
import { urlForLog } from '../src/index.js';

describe('urlForLog', () => {
  it.each([
    ['https://hooks.example.com/in?token=abc', 'https://hooks.example.com/in'],
    ['https://user:pass@hooks.example.com:8443/in?a=1#frag', 'https://hooks.example.com:8443/in'],
    ['http://[::1]:8080/hook?token=abc', 'http://[::1]:8080/hook'],
    ['https://hooks.example.com', 'https://hooks.example.com/'],
    // Not absolute URLs (a relative Location header, garbage): cut all the same.
    ['/callback?token=abc#x', '/callback'],
    ['ht!tp://user:pass@host/x?token=abc', 'ht!tp://host/x'],
    ['weird://user:pass@host/x?token=abc', 'weird://host/x'],
  ])('%s -> %s', (raw, shown) => {
    expect(urlForLog(raw)).toBe(shown);
  });
});
