// The report's inputs: log files and standard input, opened before anything is read (so a file that
// cannot be read stops the command before it works for nothing) and then read line by line in
// bounded memory, however large the input and however long a torn line.
import { type FileHandle, open } from 'node:fs/promises';
import { fsReason } from '../errors.ts';

export interface LogSource {
  /** The file name as given, or "standard input". */
  readonly name: string;
  /** Bytes to read, when known (a file), for the progress bar. */
  readonly size: number | undefined;
  readonly chunks: () => AsyncIterable<Uint8Array | string>;
  close(): Promise<void>;
}

export const STDIN_NAME = 'standard input';

export type Opened = { readonly ok: true; readonly sources: LogSource[] } | { readonly ok: false; readonly message: string };

/** Opens every `--log` argument ("-" is standard input); the first that fails closes the others and is named. */
export async function openLogSources(paths: readonly string[], stdin: AsyncIterable<Uint8Array | string> | undefined): Promise<Opened> {
  const sources: LogSource[] = [];
  const fail = async (message: string): Promise<Opened> => {
    await Promise.all(sources.map((s) => s.close()));
    return { ok: false, message };
  };
  if (paths.filter((p) => p === '-').length > 1) return fail('--log - (standard input) can be given once');
  for (const path of paths) {
    if (path === '-') {
      if (stdin === undefined) return fail('--log -: there is no standard input to read');
      sources.push({ name: STDIN_NAME, size: undefined, chunks: () => stdin, close: async () => {} });
      continue;
    }
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      return fail(`cannot read --log ${path}: ${fsReason(err)}`);
    }
    const stat = await handle.stat();
    if (stat.isDirectory()) {
      await handle.close();
      return fail(`cannot read --log ${path}: is a directory, not a file`);
    }
    sources.push({
      name: path,
      size: stat.isFile() ? stat.size : undefined,
      chunks: () => handle.createReadStream({ highWaterMark: READ_CHUNK_BYTES, autoClose: false }),
      close: () => handle.close(),
    });
  }
  return { ok: true, sources };
}

const READ_CHUNK_BYTES = 256 * 1024;
/**
 * A line longer than this is skipped without being kept whole in memory. A review line is under a
 * kilobyte; at log level debug it also holds the request, whose body serve limits to 7 MiB.
 */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

export interface LineCallbacks {
  line(text: string): void;
  /** After each chunk: how many bytes it had. */
  progress?(bytes: number): void;
}

/** Calls back once per line (without its newline); returns how many lines were too long to read. */
export async function forEachLine(chunks: AsyncIterable<Uint8Array | string>, on: LineCallbacks, maxLineBytes = MAX_LINE_BYTES): Promise<number> {
  let carry: Buffer[] = [];
  let carried = 0;
  let skipping = false;
  let tooLong = 0;
  for await (const chunk of chunks) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (let nl = buf.indexOf(0x0a, start); nl !== -1; nl = buf.indexOf(0x0a, start)) {
      if (skipping) skipping = false; // the end of a line too long to read
      else if (carried === 0) on.line(buf.toString('utf8', start, nl));
      else on.line(Buffer.concat([...carry, buf.subarray(start, nl)]).toString('utf8'));
      carry = [];
      carried = 0;
      start = nl + 1;
    }
    if (start < buf.length && !skipping) {
      carry.push(Buffer.from(buf.subarray(start))); // a copy: the stream may reuse its buffer
      carried += buf.length - start;
      if (carried > maxLineBytes) {
        tooLong += 1;
        skipping = true;
        carry = [];
        carried = 0;
      }
    }
    on.progress?.(buf.length);
  }
  if (!skipping && carried > 0) on.line(Buffer.concat(carry).toString('utf8'));
  return tooLong;
}
