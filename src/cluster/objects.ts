// Namespaces and Services as the cluster layer keeps them: only what the rules and the modes read,
// taken defensively from raw JSON (a list, a watch event, or client-node's models alike).
import { MODES, type Mode } from '../config.ts';
import type { ServiceInfo, ServiceLookup } from '../rules/context.ts';
import { NAMESPACE_MODE_LABEL } from './view.ts';

/** An object's fields, or none when the value is not an object: for reading JSON from the apiserver. */
export const record = (value: unknown): Record<string, unknown> =>
  (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {});
const text = (value: unknown): string => (typeof value === 'string' ? value : '');

export interface NamespaceInfo {
  readonly name: string;
  /** The label's value when it names a mode; undefined when absent. */
  readonly mode?: Mode | undefined;
  /** The label's value when it is set but names no mode (logged; the global mode applies). */
  readonly badMode?: string | undefined;
}

export function namespaceInfo(raw: unknown): NamespaceInfo {
  const metadata = record(record(raw).metadata);
  const label = record(metadata.labels)[NAMESPACE_MODE_LABEL];
  const name = text(metadata.name);
  if (typeof label !== 'string') return { name };
  return (MODES as readonly string[]).includes(label) ? { name, mode: label as Mode } : { name, badMode: label };
}

export function serviceInfo(raw: unknown): ServiceInfo & { readonly namespace: string } {
  const object = record(raw);
  const metadata = record(object.metadata);
  const spec = record(object.spec);
  const ports = Array.isArray(spec.ports) ? spec.ports : [];
  return {
    name: text(metadata.name),
    namespace: text(metadata.namespace),
    hasSelector: Object.keys(record(spec.selector)).length > 0,
    // The apiserver defaults a Service port's protocol to TCP; a model from a list may omit it.
    ports: ports.map((p) => ({ name: text(record(p).name), protocol: text(record(p).protocol) || 'TCP' })),
  };
}

/** A lookup over one namespace's Services. */
export const serviceLookup = (services: Iterable<ServiceInfo>): ServiceLookup => {
  const byName = new Map<string, ServiceInfo>();
  for (const s of services) byName.set(s.name, s);
  return { get: (name) => byName.get(name) };
};
