// The covered rules as CEL: for each, an expression that is true when an object passes, and the
// message the webhook would print for its first finding, built from the rules' own words.
//
// What a policy sees: the object as the apiserver decoded, defaulted and validated it (admission
// policies run after validation), converted from its Go type, so a list without omitempty is
// null when absent (an EndpointSlice's endpoints and ports), optional fields are absent, and the
// name is set even for a generateName create. Cost: the apiserver meters every evaluation (see
// docs/admission-policies.md), so every check is linear in endpoints, addresses and
// ports, and per-address work is kept to a parse and one accessor (test/policies-cost.test.ts
// bounds the worst case).
import { type Kind, type RuleId, catalogue } from '../rules/catalogue.ts';
import { ENDPOINTS_DEPRECATION, endpointsNameWords } from '../rules/endpoints.ts';
import { CONTROLLER_WRITERS, LABEL_MANAGED_BY, LABEL_SERVICE_NAME, sliceWords } from '../rules/endpointslice.ts';
import { specialAddressWords } from '../rules/addresses.ts';
import { policy } from '../rules/finding.ts';
import { DNS1035_LABEL_FMT, DNS1035_LABEL_MAX_LENGTH, LABEL_VALUE_FMT, LABEL_VALUE_MAX_LENGTH } from '../rules/names.ts';
import type { FieldPath } from '../rules/path.ts';
import { MAX_WARNING_CHARS, warningLine } from '../policy.ts';
import { celFit, celString, celStringList, celTemplate } from './cel.ts';

/** The webhook's words for a rule at a path, as a CEL string: `rule: path: words` (policy.ts warningLine). */
const line = (rule: RuleId, path: string, words: string): string => `${celString(`${rule}: `)} + ${path} + ': ' + (${words})`;
/** A line cut as the webhook cuts one over 120 characters: the first 117 and "...". */
const fitted = (variable: VariableName): string => celFit(`variables.${variable}`, MAX_WARNING_CHARS);
/** The webhook's line for a finding whose words and path need no value. */
const staticLine = (rule: RuleId, path: FieldPath, detail: string): string => warningLine(policy({ rule, path }, detail));
/** What a policy says when a message cannot be built: the rule and what it checks. */
const fallback = (rule: RuleId): string => `${rule}: ${catalogue[rule].doc}`;

/** The quoting the webhook's JSON.stringify gives a value, for the characters a printable value holds. */
const quoted = (value: string): string =>
  `'"' + ${value}.replace('\\\\', '\\\\\\\\').replace('"', '\\\\"').replace('\\n', '\\\\n').replace('\\r', '\\\\r').replace('\\t', '\\\\t') + '"'`;

const label = (key: string): string => `variables.labels[${celString(key)}]`;
const hasLabel = (key: string): string => `${celString(key)} in variables.labels`;

const SPECIAL = '!ip(a).isGlobalUnicast()';
const PORT_NUMBER = 'has(p.port) && p.port >= 1 && p.port <= 65535';

/**
 * Policy variables: each evaluated at most once per admission, and only when an expression reads
 * it. The last ones only serve messages: where a check failed, and the line that says so.
 */
export const VARIABLES = {
  labels: 'has(object.metadata.labels) ? object.metadata.labels : {}',
  // A typed EndpointSlice converts with "endpoints": null and "ports": null when they are empty.
  endpoints: 'has(object.endpoints) && object.endpoints != null ? object.endpoints : []',
  ports: 'has(object.ports) && object.ports != null ? object.ports : []',
  // Per endpoint: every address is unicast. The addresses of IPv4 and IPv6 slices the 1.36 apiserver
  // has already checked strictly: a valid address that is not global unicast is multicast or
  // broadcast. FQDN slices hold names.
  unicast: "object.addressType == 'FQDN' ? [] : variables.endpoints.map(e, e.addresses.all(a, ip(a).isGlobalUnicast()))",
  // Per endpoint: the zone is a label value. The length comes first so that the pattern only ever
  // reads 63 characters of a zone, which the apiserver leaves unbounded.
  zones: `variables.endpoints.map(e, !has(e.zone) || (e.zone.size() <= ${LABEL_VALUE_MAX_LENGTH} && e.zone.matches(${celString(`^${LABEL_VALUE_FMT}$`)})))`,
  specialAt: 'variables.unicast.indexOf(false)',
  specialAddress: `variables.endpoints[variables.specialAt].addresses.filter(a, ${SPECIAL})[0]`,
  specialLine: line('special-address',
    `'endpoints[' + string(variables.specialAt) + '].addresses[' + string(variables.endpoints[variables.specialAt].addresses.indexOf(variables.specialAddress)) + ']'`,
    celTemplate(specialAddressWords, ['\'"\' + variables.specialAddress + \'"\'', "variables.specialAddress == '255.255.255.255' ? 'broadcast' : 'multicast'"])),
  zoneAt: 'variables.zones.indexOf(false)',
  // The offending zone, cut before it is quoted: only the first 117 characters of a line are shown,
  // and every operation on a string costs in proportion to its length.
  zone: `variables.endpoints[variables.zoneAt].zone.size() <= ${MAX_WARNING_CHARS} ? variables.endpoints[variables.zoneAt].zone : ` +
    `variables.endpoints[variables.zoneAt].zone.substring(0, ${MAX_WARNING_CHARS})`,
  zoneLine: line('zone', "'endpoints[' + string(variables.zoneAt) + '].zone'", celTemplate(sliceWords.zone, [quoted('variables.zone')])),
  // The first port without a number from 1 to 65535. Up to 20000 ports: a list of them all is
  // built only when one fails, and the check itself stops at the first.
  badPort: `variables.ports.filter(p, !(${PORT_NUMBER}))[0]`,
  nameLine: line('endpoints-name', "'metadata.name'", celTemplate(endpointsNameWords, ['\'"\' + object.metadata.name + \'"\''])),
  prefixLine: line('slice-name-prefix', "'metadata.name'", celTemplate(sliceWords.namePrefix, [label(LABEL_SERVICE_NAME)])),
} as const;
export type VariableName = keyof typeof VARIABLES;
/** The order a policy lists its variables in: each reads only those before it. */
export const VARIABLE_ORDER = Object.keys(VARIABLES) as VariableName[];

export interface CelCheck {
  readonly rule: RuleId;
  readonly kind: Kind;
  /** True when the object passes the rule (the kind guard is added by the policy). */
  readonly expression: string;
  /** The message when messageExpression cannot be evaluated, or the whole message when there is none. */
  readonly message: string;
  readonly messageExpression?: string;
}


/** managed-by-controller: a controller's value written by anyone but that controller. */
function controllerValueExpression(): string {
  const byWriter = Object.entries(CONTROLLER_WRITERS)
    .map(([value, users]) => `(${label(LABEL_MANAGED_BY)} == ${celString(value)} && request.userInfo.username in ${celStringList(users)})`);
  return `!(${hasLabel(LABEL_MANAGED_BY)}) || !(${label(LABEL_MANAGED_BY)} in ${celStringList(Object.keys(CONTROLLER_WRITERS))}) || ${byWriter.join(' || ')}`;
}

export interface CheckSettings {
  readonly softEndpointLimit: number;
}

/** The CEL of every rule the policies can check, for the kind it is checked on. */
export function celChecks(settings: CheckSettings): CelCheck[] {
  const port = 'variables.badPort';
  return [
    {
      // The upstream words with the rule id: the apiserver puts its own words before a policy's
      // warning, so it could not match the apiserver's own line (1.33+) anyway.
      rule: 'endpoints-deprecated', kind: 'Endpoints', expression: 'false',
      message: `endpoints-deprecated: ${ENDPOINTS_DEPRECATION}`,
    },
    {
      rule: 'endpoints-name', kind: 'Endpoints',
      expression: `object.metadata.name.size() <= ${DNS1035_LABEL_MAX_LENGTH} && object.metadata.name.matches(${celString(`^${DNS1035_LABEL_FMT}$`)})`,
      message: fallback('endpoints-name'), messageExpression: fitted('nameLine'),
    },
    {
      rule: 'fqdn-address-type', kind: 'EndpointSlice', expression: "object.addressType != 'FQDN'",
      message: staticLine('fqdn-address-type', ['addressType'], sliceWords.fqdn),
    },
    {
      rule: 'special-address', kind: 'EndpointSlice', expression: '!(false in variables.unicast)',
      message: fallback('special-address'), messageExpression: fitted('specialLine'),
    },
    {
      rule: 'slice-name-prefix', kind: 'EndpointSlice',
      expression: `!(${hasLabel(LABEL_SERVICE_NAME)}) || ` +
        `(has(object.metadata.generateName) ? object.metadata.generateName : object.metadata.name).startsWith(${label(LABEL_SERVICE_NAME)})`,
      message: fallback('slice-name-prefix'), messageExpression: fitted('prefixLine'),
    },
    {
      // At most 1000 endpoints and a limit of at most 1000: the line always fits.
      rule: 'endpoint-soft-limit', kind: 'EndpointSlice', expression: `size(variables.endpoints) <= ${settings.softEndpointLimit}`,
      message: fallback('endpoint-soft-limit'),
      messageExpression: line('endpoint-soft-limit', "'endpoints'",
        celTemplate((count) => sliceWords.softLimit(count ?? '', settings.softEndpointLimit), ['string(size(variables.endpoints))'])),
    },
    {
      rule: 'managed-by-missing', kind: 'EndpointSlice', expression: hasLabel(LABEL_MANAGED_BY),
      message: staticLine('managed-by-missing', ['metadata', 'labels'], sliceWords.managedByMissing),
    },
    {
      rule: 'managed-by-controller', kind: 'EndpointSlice', expression: controllerValueExpression(),
      message: staticLine('managed-by-controller', ['metadata', 'labels'], sliceWords.managedByController),
    },
    {
      rule: 'service-name-missing', kind: 'EndpointSlice', expression: hasLabel(LABEL_SERVICE_NAME),
      message: staticLine('service-name-missing', ['metadata', 'labels'], sliceWords.serviceNameMissing),
    },
    {
      // An int32 and at most 20000 ports: the line always fits.
      rule: 'port-number', kind: 'EndpointSlice', expression: `variables.ports.all(p, ${PORT_NUMBER})`,
      message: fallback('port-number'),
      messageExpression: line('port-number', "'ports[' + string(variables.ports.indexOf(variables.badPort)) + '].port'",
        `has(${port}.port) ? ${celTemplate(sliceWords.portOutOfRange, [`string(${port}.port)`])} : ${celString(sliceWords.noPortNumber)}`),
    },
    {
      rule: 'zone', kind: 'EndpointSlice', expression: '!(false in variables.zones)',
      message: fallback('zone'), messageExpression: fitted('zoneLine'),
    },
  ];
}

/** The variables an expression reads, directly or through other variables, in policy order. */
export function variablesOf(expressions: readonly string[]): VariableName[] {
  const needed = new Set<VariableName>();
  const visit = (text: string): void => {
    for (const name of VARIABLE_ORDER) {
      if (!needed.has(name) && new RegExp(`\\bvariables\\.${name}\\b`).test(text)) {
        needed.add(name);
        visit(VARIABLES[name]);
      }
    }
  };
  for (const text of expressions) visit(text);
  return VARIABLE_ORDER.filter((name) => needed.has(name));
}
