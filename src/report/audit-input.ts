// `--audit FILE`: what `endpoint-guard audit --format json` printed (audit-command.ts,
// formatAuditJson), read back for the report's section on stored objects.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { AUDIT_JSON_SCHEMA_VERSION } from '../cluster/audit-command.ts';
import { fsReason, messageOf } from '../errors.ts';

const objectRef = z.object({ kind: z.string(), namespace: z.string().nullable(), name: z.string().nullable() });
const tally = z.object({ errors: z.number(), warnings: z.number() });

const auditJsonSchema = z.object({
  schemaVersion: z.literal(AUDIT_JSON_SCHEMA_VERSION),
  settings: z.object({ kubernetesVersion: z.string(), namespace: z.string().nullable() }),
  summary: z.object({
    namespaces: z.number(),
    endpoints: z.number(),
    endpointSlices: z.number(),
    errors: z.number(),
    warnings: z.number(),
    rejected: z.number(),
    sparedByNamespaceLabel: z.number(),
  }),
  byRule: z.record(z.string(), tally),
  byNamespace: z.record(z.string(), tally.extend({ rejected: z.number(), spared: z.number() })),
  findings: z.array(z.object({ object: objectRef, rule: z.string(), severity: z.enum(['error', 'warning']), message: z.string() })),
  rejected: z.array(objectRef),
});

export type AuditJson = z.infer<typeof auditJsonSchema>;

export type AuditRead = { readonly ok: true; readonly audit: AuditJson } | { readonly ok: false; readonly message: string };

export async function readAuditJson(path: string): Promise<AuditRead> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    return { ok: false, message: `cannot read --audit ${path}: ${fsReason(err)}` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, message: `--audit ${path} is not JSON (${messageOf(err)}); give it what 'endpoint-guard audit --format json' prints` };
  }
  const parsed = auditJsonSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'the document';
    return { ok: false, message: `--audit ${path} is not what 'endpoint-guard audit --format json' prints: ${where}: ${issue?.message ?? 'invalid'}` };
  }
  return { ok: true, audit: parsed.data };
}
