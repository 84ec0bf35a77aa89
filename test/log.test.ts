// infoLine writes the review's log line without pino's field-by-field serialisation: it must be
// the very line pino writes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, infoLine } from '../src/log.ts';

const TIME = /"time":"[^"]+"/;

function lines(level: 'info' | 'warn', write: (log: ReturnType<typeof createLogger>) => void): string[] {
  const written: string[] = [];
  const log = createLogger(level, { write: (line: string) => written.push(line.replace(TIME, '"time":"T"')) });
  write(log);
  return written;
}

const FIELDS = [
  { path: '/validate', uid: 'u-1', kind: 'EndpointSlice', namespace: undefined, dryRun: false, mode: 'complain', decision: 'allowed', findings: {}, status: 200, durationMs: 0.31 },
  { reason: 'user "system:x"\n\\ \u0001 é ☃', errors: ['address', 'ports'], findings: { address: 2 }, ruleErrors: [{ check: 'policy', message: 'boom' }], n: Number.NaN, big: 1e21 },
  {},
];

test('infoLine writes the line log.info writes, byte for byte apart from the time', () => {
  for (const fields of FIELDS) {
    const [viaPino] = lines('info', (log) => log.info(fields, 'review'));
    const [fast] = lines('info', (log) => infoLine(log, fields, 'review'));
    assert.equal(fast, viaPino);
    assert.ok(fast?.endsWith('}\n'));
    JSON.parse(fast ?? '');
  }
});

test('infoLine keeps a child logger\'s bindings and the level setting', () => {
  const [viaPino] = lines('info', (log) => log.child({ worker: 2 }).info(FIELDS[0] ?? {}, 'review'));
  const [fast] = lines('info', (log) => infoLine(log.child({ worker: 2 }), FIELDS[0] ?? {}, 'review'));
  assert.equal(fast, viaPino);
  assert.deepEqual(lines('warn', (log) => infoLine(log, FIELDS[0] ?? {}, 'review')), []);
});
