// The report benchmark's child: `endpoint-guard report ARGS...` as the command line runs it, then
// this process's peak resident set size, which only the process itself can read.
import { main } from '../src/cli.ts';

const code = await main(['report', ...process.argv.slice(2)], {
  env: process.env,
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  stdoutIsTTY: false,
  stderrIsTTY: false,
});
process.stdout.write(`peak-rss-kb ${process.resourceUsage().maxRSS}\n`);
process.exitCode = code;
