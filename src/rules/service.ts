// Rules that need the cluster's Services: does the Service this object serves exist, do its ports
// match the Service's by name, and does the control plane already own the Service's endpoints?
// They say nothing when the Services are not known (ctx.services undefined: offline, or no cache).
import type { RuleContext, ServiceInfo } from './context.ts';
import { type Finding, policy } from './finding.ts';
import { LABEL_SERVICE_NAME } from './endpointslice.ts';
import type { KubeObject } from './objects.ts';
import type { FieldPath } from './path.ts';

/** A Service port name as it goes into a warning: names are DNS labels, but a line has 120 characters. */
const shortName = (name: string): string => (name.length > 16 ? `${name.slice(0, 13)}...` : name);

interface Served {
  /** The Service's name, and where the object says it. */
  readonly name: string;
  readonly path: FieldPath;
  readonly ports: readonly { readonly name: string; readonly protocol: string; readonly path: FieldPath }[];
}

/** Which Service an object is for: a slice's kubernetes.io/service-name label, an Endpoints object's own name. */
function served(object: KubeObject): Served | undefined {
  if (object.kind === 'EndpointSlice') {
    const name = object.metadata.labels?.[LABEL_SERVICE_NAME];
    if (name === undefined) return undefined; // service-name-missing says so
    const ports = (object.ports ?? []).map((p, i) => ({ name: p.name, protocol: p.protocol, path: ['ports', i, 'name'] }));
    return { name, path: ['metadata', 'labels', { key: LABEL_SERVICE_NAME }], ports };
  }
  const name = object.metadata.name;
  if (!name) return undefined; // generateName: no Service can have a name not yet chosen
  const ports = object.subsets.flatMap((s, i) => s.ports.map((p, j) => ({ name: p.name, protocol: p.protocol, path: ['subsets', i, 'ports', j, 'name'] })));
  return { name, path: ['metadata', 'name'], ports };
}

export function serviceChecks(object: KubeObject, ctx: RuleContext): Finding[] {
  if (ctx.services === undefined) return [];
  const target = served(object);
  if (target === undefined) return [];
  const service = ctx.services.get(target.name);
  const isSlice = object.kind === 'EndpointSlice';
  if (service === undefined) {
    return [policy({ rule: 'service-exists', path: target.path },
      isSlice ? 'no Service of this name here; create it or fix the label'
        : 'no Service of this name here, so nothing uses these endpoints')];
  }
  const findings: Finding[] = [];
  if (service.hasSelector) {
    findings.push(policy({ rule: 'service-selector', path: target.path },
      isSlice ? "the Service selects Pods; this adds endpoints to theirs"
        : 'the Service has a selector: the endpoints controller overwrites this'));
  }
  findings.push(...portMismatches(target, service));
  return findings;
}

/** Ports kube-proxy cannot match to a Service port: it matches by name and protocol. */
function portMismatches(target: Served, service: ServiceInfo): Finding[] {
  const findings: Finding[] = [];
  for (const port of target.ports) {
    const byName = service.ports.find((s) => s.name === port.name);
    if (byName?.protocol === port.protocol) continue;
    const at = { rule: 'service-ports', path: port.path } as const;
    if (byName !== undefined) {
      findings.push(policy(at, `the Service's port of this name is ${byName.protocol}, not ${port.protocol}; no traffic reaches it`, port.name));
    } else {
      const [first, ...rest] = service.ports.map((s) => (s.name === '' ? 'an unnamed one' : `"${shortName(s.name)}"`));
      const known = first === undefined ? 'the Service has no ports' : `it has ${first}${rest.length > 0 ? ` and ${rest.length} more` : ''}`;
      findings.push(policy(at, `no Service port of this name (${known})`, port.name));
    }
  }
  return findings;
}
