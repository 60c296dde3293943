/**
 * A webhook URL as it may be logged or quoted in an error: scheme, host, port and path only.
 * Tenants put tokens in query strings (and sometimes `user:password@`), and a log line is read
 * by people and systems the tenant never gave them to.
 */
export function urlForLog(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    // Not a URL: cut what would have been the userinfo, the query and the fragment all the same.
    return raw.replace(/^([^:/?#]+:\/\/)[^/?#]*@/, '$1').replace(/[?#].*$/s, '');
  }
}
