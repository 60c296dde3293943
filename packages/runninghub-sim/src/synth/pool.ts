type Entry = () => Promise<void>;

/**
 * At most `concurrency` renders at a time, whoever asks. A download that waits goes ahead of
 * work started early (prefetch), and early work beyond `maxBacklog` is dropped rather than
 * queued without bound: the download renders it when it comes.
 */
export class RenderPool {
  readonly #concurrency: number;
  readonly #maxBacklog: number;
  readonly #urgent: Entry[] = [];
  readonly #backlog: Entry[] = [];
  #running = 0;
  #peak = 0;

  constructor(concurrency: number, maxBacklog: number) {
    this.#concurrency = concurrency;
    this.#maxBacklog = maxBacklog;
  }

  get running(): number {
    return this.#running;
  }

  /** The most renders that ever ran at once. */
  get peakRunning(): number {
    return this.#peak;
  }

  get waiting(): number {
    return this.#urgent.length + this.#backlog.length;
  }

  run<T>(job: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#urgent.push(() => job().then(resolve, reject));
      this.#next();
    });
  }

  /** Queues background work; false when the backlog is full and it was dropped. */
  offer(job: () => Promise<unknown>): boolean {
    if (this.#backlog.length >= this.#maxBacklog) return false;
    // A failed prefetch is not lost: the download that needs the audio renders it again.
    this.#backlog.push(() =>
      job().then(
        () => {},
        () => {},
      ),
    );
    this.#next();
    return true;
  }

  /** Drops queued background work (a reset); running work finishes. */
  clearBacklog(): void {
    this.#backlog.length = 0;
  }

  #next(): void {
    while (this.#running < this.#concurrency) {
      const entry = this.#urgent.shift() ?? this.#backlog.shift();
      if (!entry) return;
      this.#running++;
      this.#peak = Math.max(this.#peak, this.#running);
      void entry().finally(() => {
        this.#running--;
        this.#next();
      });
    }
  }
}
