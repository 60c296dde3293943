import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Signed, expiring result URLs, like the temporary links upstream hands out. */
export class LinkSigner {
  // Per process: links die with the simulator's in-memory tasks anyway.
  readonly #secret = randomBytes(32);

  #sig(taskId: string, expires: number): string {
    return createHmac('sha256', this.#secret).update(`${taskId}.${expires}`).digest('base64url');
  }

  query(taskId: string, expires: number): string {
    return `expires=${expires}&sig=${this.#sig(taskId, expires)}`;
  }

  /** 'ok', 'forbidden' (bad or missing signature) or 'expired'. */
  check(
    taskId: string,
    expires: string | undefined,
    sig: string | undefined,
    now: number,
  ): 'ok' | 'forbidden' | 'expired' {
    if (!expires || !sig || !/^\d+$/.test(expires)) return 'forbidden';
    const expected = Buffer.from(this.#sig(taskId, Number(expires)));
    const given = Buffer.from(sig);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'forbidden';
    return now > Number(expires) ? 'expired' : 'ok';
  }
}
