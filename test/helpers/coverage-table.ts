// The README's coverage table as the code decides it: for each policy rule, on which kinds and
// releases the admission policies check it, and why the webhook alone checks it elsewhere.
import { catalogue, ruleIds } from '../../src/rules/catalogue.ts';
import { POLICIES_SINCE_MINOR } from '../../src/policies/policies.ts';
import { coverage } from '../../src/policies/coverage.ts';
import { MAX_MINOR, kubeVersion } from '../../src/rules/version.ts';

const RELEASES = Array.from({ length: MAX_MINOR - POLICIES_SINCE_MINOR + 1 }, (_, i) => POLICIES_SINCE_MINOR + i);

/** "1.28+", "1.36", "1.28–1.32": a run of releases. */
function releases(minors: readonly number[]): string {
  const first = minors[0] ?? 0;
  const last = minors.at(-1) ?? 0;
  if (last === MAX_MINOR) return first === POLICIES_SINCE_MINOR ? '' : first === last ? `1.${first}` : `1.${first}+`;
  return first === last ? `1.${first}` : `1.${first}–1.${last}`;
}

/** One row per policy rule: `rule | where the policies check it | why the webhook alone checks it elsewhere`. */
export function coverageRows(): string[] {
  return ruleIds.filter((rule) => catalogue[rule].source === 'policy').map((rule) => {
    const kinds = catalogue[rule].kinds;
    const checked: string[] = [];
    const byReason = new Map<string, { kind: string; minors: number[] }[]>();
    for (const kind of kinds) {
      const covered = RELEASES.filter((minor) => coverage(rule, kind, kubeVersion(minor)).policy);
      if (covered.length > 0) checked.push([kind, releases(covered)].filter(Boolean).join(' '));
      for (const minor of RELEASES) {
        const c = coverage(rule, kind, kubeVersion(minor));
        if (c.policy) continue;
        const group = byReason.get(c.reason) ?? [];
        const entry = group.find((e) => e.kind === kind) ?? { kind, minors: [] };
        if (!group.includes(entry)) group.push(entry);
        entry.minors.push(minor);
        byReason.set(c.reason, group);
      }
    }
    const reasons = [...byReason].map(([reason, group]) => {
      const everywhere = group.length === kinds.length && group.every((e) => e.minors.length === RELEASES.length);
      if (everywhere) return reason;
      const where = group.map((e) => [kinds.length > 1 ? e.kind : '', e.minors.length === RELEASES.length ? '' : releases(e.minors) || 'all'].filter(Boolean).join(' '));
      return `${where.join(', ')}: ${reason}`;
    });
    return `| \`${rule}\` | ${checked.join(', ') || 'no'} | ${reasons.join('; ')} |`;
  });
}
