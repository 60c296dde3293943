// Upstream ids look like Twitter snowflakes ("2013508786110730241"): this epoch gives the
// same magnitude, 19 digits and far above 2^53, so clients that parse them as numbers break
// here as they would in production.
const SNOWFLAKE_EPOCH_MS = 1_288_834_974_657n;

export class TaskIds {
  #last = 0n;

  next(now: number): string {
    let id = (BigInt(Math.floor(now)) - SNOWFLAKE_EPOCH_MS) << 22n;
    if (id <= this.#last) id = this.#last + 1n;
    this.#last = id;
    return id.toString();
  }
}
