/** A key that could escape the store's root or collide with its own bookkeeping files. */
export class InvalidKeyError extends Error {
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`invalid audio key ${JSON.stringify(key)}: ${reason}`);
    this.name = 'InvalidKeyError';
  }
}

/** A range starting past the last byte: HTTP answers 416 with `Content-Range: bytes *\/total`. */
export class RangeNotSatisfiableError extends Error {
  constructor(
    readonly key: string,
    readonly totalBytes: number,
  ) {
    super(`range not satisfiable for ${key} (${totalBytes} bytes)`);
    this.name = 'RangeNotSatisfiableError';
  }
}
