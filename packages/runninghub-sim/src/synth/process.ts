import { spawn } from 'node:child_process';

// A line of the API's maximum length (10,000 characters) takes eSpeak NG about a second.
const PROCESS_TIMEOUT_MS = 60_000;

export class MissingCommandError extends Error {}

/** Runs a command with `input` on stdin and resolves with its stdout; fails on a non-zero exit. */
export function runProcess(
  command: string,
  args: string[],
  input: Buffer | string,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), PROCESS_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      if (err.length < 2_000) err += chunk;
    });
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        error.code === 'ENOENT' ? new MissingCommandError(`${command} is not installed`) : error,
      );
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`${command} exited with ${signal ?? code}: ${err.trim()}`));
    });
    // A process that dies early closes its stdin; its exit status tells what happened.
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

/** The first line of `command --version`, or null when the command is not installed. */
export async function probeCommand(command: string): Promise<string | null> {
  try {
    const out = await runProcess(command, ['--version'], '');
    return out.toString('utf8').split('\n')[0]?.trim() || command;
  } catch (error) {
    if (error instanceof MissingCommandError) return null;
    // It starts, so it is there; an odd --version is not this check's business.
    return command;
  }
}
