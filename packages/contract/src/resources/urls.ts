/** How the API is reached from outside: what clone resources build their audio links on. */
export interface PublicAddress {
  PUBLIC_BASE_URL?: string | undefined;
  HOST: string;
  PORT: number;
}

/**
 * PUBLIC_BASE_URL without its trailing slashes, else `http://HOST:PORT` (an IPv6 host in
 * brackets). The API and the webhooks both build links with this, so a clone's `audio.url`
 * is the same in a GET and in its `clone.succeeded` event.
 */
export function publicBaseUrl(address: PublicAddress): string {
  if (address.PUBLIC_BASE_URL) return address.PUBLIC_BASE_URL.replace(/\/+$/, '');
  const host = address.HOST.includes(':') ? `[${address.HOST}]` : address.HOST;
  return `http://${host}:${address.PORT}`;
}

/** Where voxline serves a clone's stored audio (`GET /v1/clones/:id/audio`). */
export function cloneAudioUrl(baseUrl: string, cloneId: string): string {
  return `${baseUrl}/v1/clones/${cloneId}/audio`;
}
