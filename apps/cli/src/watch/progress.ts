import { type StatusCounts, terminalCount } from '@voxline/contract';
import cliProgress from 'cli-progress';
import { formatDuration } from '../output.js';
import { type Money, moneyText } from './cost.js';

/** What a watcher knows after each poll: the batches' counts added up. */
export interface Snapshot {
  total: number;
  counts: StatusCounts;
  /** What the finished lines cost, against the batches' estimate. */
  money: Money | null;
  /** Set while the API cannot be reached; the watch goes on. */
  problem?: string | undefined;
}

/** Lines finished per second over a sliding window, so the ETA follows the current pace. */
export class RateMeter {
  private readonly samples: Array<[number, number]> = [];

  constructor(
    private readonly windowMs = 20_000,
    private readonly now: () => number = Date.now,
  ) {}

  add(done: number): void {
    const t = this.now();
    this.samples.push([t, done]);
    while (this.samples.length > 2 && (this.samples[0]?.[0] ?? t) < t - this.windowMs) {
      this.samples.shift();
    }
  }

  /** Lines per second, or null before two samples a moment apart. */
  rate(): number | null {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last[0] - first[0] < 500) return null;
    return ((last[1] - first[1]) * 1000) / (last[0] - first[0]);
  }

  etaMs(remaining: number): number | null {
    const rate = this.rate();
    if (remaining === 0) return 0;
    if (rate === null || rate <= 0) return null;
    return (remaining / rate) * 1000;
  }
}

function describe(snapshot: Snapshot, meter: RateMeter) {
  const c = snapshot.counts;
  const done = terminalCount(c);
  const rate = meter.rate();
  const eta = meter.etaMs(snapshot.total - done);
  return {
    done,
    rate: rate === null ? '-' : rate.toFixed(1),
    eta: eta === null ? '-' : eta === 0 ? '0s' : formatDuration(eta),
    active: c.submitting + c.running,
  };
}

/** `298 succeeded, 2 failed, 10 running, 170 queued`: the statuses that have lines. */
export function statusesText(c: StatusCounts): string {
  const parts: Array<[number, string]> = [
    [c.succeeded, 'succeeded'],
    [c.failed, 'failed'],
    [c.canceled, 'canceled'],
    [c.submitting + c.running, 'running'],
    [c.queued, 'queued'],
  ];
  const shown = parts.filter(([n], i) => n > 0 || i === 0);
  return shown.map(([n, label]) => `${n} ${label}`).join(', ');
}

/**
 * One line for logs and non-terminals:
 * `120/300 done (succeeded 118, failed 2, …) 4.2 lines/s, ETA 43s, spent 0.41 CNY of 1.05 CNY estimated`.
 */
export function progressLine(snapshot: Snapshot, meter: RateMeter): string {
  const c = snapshot.counts;
  const d = describe(snapshot, meter);
  const problem = snapshot.problem ? ` [${snapshot.problem}]` : '';
  const money = snapshot.money ? `, ${moneyText(snapshot.money)}` : '';
  return `${d.done}/${snapshot.total} done (succeeded ${c.succeeded}, failed ${c.failed}, canceled ${c.canceled}; running ${d.active}, queued ${c.queued}) ${d.rate} lines/s, ETA ${d.eta}${money}${problem}`;
}

// While a bar is drawn, lines from elsewhere (the services `voxline demo` runs) must be
// printed above it, or they tear it apart.
let lineSink: ((line: string) => void) | null = null;

/** Prints a line to stdout, above the progress bar when one is shown. */
export function printLine(line: string): void {
  if (lineSink) lineSink(line);
  else process.stdout.write(`${line}\n`);
}

export interface ProgressView {
  update(snapshot: Snapshot): void;
  /** Prints a line above the bar (or plainly when there is none). */
  log(line: string): void;
  stop(): void;
}

const PLAIN_EVERY_MS = 10_000;

/**
 * - `bar`: a cli-progress bar on stderr, for a terminal.
 * - `lines`: a progress line every 10 s on stderr, for logs and CI.
 * - `none`: nothing (`--json` without a terminal).
 */
export function createProgress(mode: 'bar' | 'lines' | 'none'): ProgressView {
  const meter = new RateMeter();
  if (mode === 'bar') {
    const multibar = new cliProgress.MultiBar(
      {
        stream: process.stderr,
        // Progress, pace and ETA first: a narrow terminal cuts the line from the right.
        // (`eta` and `rate` are names cli-progress fills itself, hence `etaText`/`rateText`.)
        format:
          '{bar} {percentage}% {value}/{total} | {rateText} lines/s | ETA {etaText} | {statuses}{money}{problem}',
        barCompleteChar: '\u2588',
        barIncompleteChar: '\u2591',
        barsize: 24,
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        autopadding: true,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    let bar: cliProgress.SingleBar | null = null;
    lineSink = (line) => multibar.log(`${line}\n`);
    return {
      update(snapshot) {
        meter.add(terminalCount(snapshot.counts));
        const d = describe(snapshot, meter);
        const payload = {
          statuses: statusesText(snapshot.counts),
          rateText: d.rate,
          etaText: d.eta,
          money: snapshot.money ? ` | ${moneyText(snapshot.money)}` : '',
          problem: snapshot.problem ? ` | ${snapshot.problem}` : '',
        };
        if (!bar) bar = multibar.create(snapshot.total, d.done, payload);
        else {
          bar.setTotal(snapshot.total);
          bar.update(d.done, payload);
        }
      },
      log(line) {
        multibar.log(`${line}\n`);
      },
      stop() {
        lineSink = null;
        multibar.update();
        multibar.stop();
      },
    };
  }

  let lastPrinted = 0;
  let last: Snapshot | null = null;
  let printed: Snapshot | null = null;
  const print = (snapshot: Snapshot) => {
    process.stderr.write(`progress: ${progressLine(snapshot, meter)}\n`);
    lastPrinted = Date.now();
    printed = snapshot;
  };
  return {
    update(snapshot) {
      meter.add(terminalCount(snapshot.counts));
      last = snapshot;
      if (mode === 'lines' && Date.now() - lastPrinted >= PLAIN_EVERY_MS) print(snapshot);
    },
    log(line) {
      process.stdout.write(`${line}\n`);
    },
    stop() {
      if (mode === 'lines' && last && last !== printed) print(last);
    },
  };
}
