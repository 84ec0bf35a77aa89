// The apimachinery string validators (spec 2.2). Each returns the upstream detail texts, word for
// word, in upstream order; an empty list means valid. Lengths are UTF-8 bytes (Go's len), whatever
// the message says.

const DNS1123_LABEL_MAX_LENGTH = 63;
const DNS1123_SUBDOMAIN_MAX_LENGTH = 253;
export const DNS1035_LABEL_MAX_LENGTH = 63;
const QUALIFIED_NAME_MAX_LENGTH = 63;
export const LABEL_VALUE_MAX_LENGTH = 63;

const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
/** Exported for the admission policies, which check the same patterns in CEL. */
export const DNS1035_LABEL_FMT = '[a-z]([-a-z0-9]*[a-z0-9])?';
const QUALIFIED_NAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
export const LABEL_VALUE_FMT = `(${QUALIFIED_NAME_FMT})?`;

const anchored = (fmt: string) => new RegExp(`^${fmt}$`);
const DNS1123_LABEL_RE = anchored(DNS1123_LABEL_FMT);
const DNS1123_SUBDOMAIN_RE = anchored(DNS1123_SUBDOMAIN_FMT);
const DNS1035_LABEL_RE = anchored(DNS1035_LABEL_FMT);
const QUALIFIED_NAME_RE = anchored(QUALIFIED_NAME_FMT);
const LABEL_VALUE_RE = anchored(LABEL_VALUE_FMT);

/** Go's validation.RegexError; the ",  or " double space is upstream's and part of the API text. */
function regexError(message: string, fmt: string, ...examples: string[]): string {
  const eg = examples.map((e) => `'${e}', `).join(' or ');
  return `${message} (e.g. ${eg}regex used for validation is '${fmt}')`;
}

const maxLenError = (max: number, unit: 'characters' | 'bytes') => `must be no more than ${max} ${unit}`;
const EMPTY_ERROR = 'must be non-empty';
const byteUnit = (lengthInBytes: boolean) => (lengthInBytes ? 'bytes' : 'characters');
const byteLength = (value: string) => Buffer.byteLength(value, 'utf8');
// Every pattern here is ASCII-only: a value that matches one has as many bytes as characters.
const lengthIf = (matched: boolean, value: string) => (matched ? value.length : byteLength(value));

const DNS1123_LABEL_MSG = regexError(
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
  DNS1123_LABEL_FMT, 'my-name', '123-abc');
const DNS1123_SUBDOMAIN_MSG = regexError(
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
  DNS1123_SUBDOMAIN_FMT, 'example.com');
const DNS1035_LABEL_MSG = regexError(
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
  DNS1035_LABEL_FMT, 'my-name', 'abc-123');
const QUALIFIED_NAME_BODY = regexError(
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
  QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc');
const NAME_PART_MSG = `name part ${QUALIFIED_NAME_BODY}`;
const TOO_MANY_SLASHES_TAIL = " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
const TOO_MANY_SLASHES_MSG_OLD = `a qualified name ${QUALIFIED_NAME_BODY}${TOO_MANY_SLASHES_TAIL}`;
const TOO_MANY_SLASHES_MSG_NEW = `a valid label key ${QUALIFIED_NAME_BODY}${TOO_MANY_SLASHES_TAIL}`;
const LABEL_VALUE_MSG = regexError(
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
  LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345');
const DOTS_MSG = 'must not contain dots';
const FQDN_SEGMENTS_MSG = 'should be a domain with at least two segments separated by dots';

/**
 * IsDNS1123Label. Length and pattern problems can both be reported. `dotsMessage`: the release says
 * "must not contain dots" for a valid subdomain, which can only be wrong for its dots (1.27+).
 */
export function dnsLabel(value: string, dotsMessage: boolean): string[] {
  const errs: string[] = [];
  const matched = DNS1123_LABEL_RE.test(value);
  if (lengthIf(matched, value) > DNS1123_LABEL_MAX_LENGTH) errs.push(maxLenError(DNS1123_LABEL_MAX_LENGTH, 'characters'));
  if (!matched) errs.push(dotsMessage && DNS1123_SUBDOMAIN_RE.test(value) ? DOTS_MSG : DNS1123_LABEL_MSG);
  return errs;
}

// Takes the byte length separately because generateNamePrefix masks at byte level, like Go.
function subdomain(value: string, lengthUnit: 'characters' | 'bytes', bytes?: number): string[] {
  const errs: string[] = [];
  const matched = DNS1123_SUBDOMAIN_RE.test(value);
  if ((bytes ?? lengthIf(matched, value)) > DNS1123_SUBDOMAIN_MAX_LENGTH) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX_LENGTH, lengthUnit));
  if (!matched) errs.push(DNS1123_SUBDOMAIN_MSG);
  return errs;
}

/**
 * Values a check has already passed. The endpoints of one slice share a few node names and zones,
 * and controllers send the same ones all day; a hash lookup is cheaper than the pattern. Only
 * valid values are kept (their answer is "no details" in every version); bounded, cleared when full.
 */
function passed(): { has(value: string): boolean; add(value: string): void } {
  const values = new Set<string>();
  return {
    has: (value) => values.has(value),
    add: (value) => {
      if (values.size >= PASSED_MAX) values.clear();
      values.add(value);
    },
  };
}
const PASSED_MAX = 4096;
/** The answer for a value already passed: one shared list, so a check of a valid value allocates nothing. */
const NO_ERRORS: readonly string[] = Object.freeze([]);
const validSubdomains = passed();
const validLabelValues = passed();
const validQualifiedNames = passed();

/** IsDNS1123Subdomain (object names, node names). */
export function dnsSubdomain(value: string): readonly string[] {
  if (validSubdomains.has(value)) return NO_ERRORS;
  const errs = subdomain(value, 'characters');
  if (errs.length === 0) validSubdomains.add(value);
  return errs;
}

/** IsDNS1035Label (Service names): starts with a letter. */
export function dns1035Label(value: string): string[] {
  const errs: string[] = [];
  const matched = DNS1035_LABEL_RE.test(value);
  if (lengthIf(matched, value) > DNS1035_LABEL_MAX_LENGTH) errs.push(maxLenError(DNS1035_LABEL_MAX_LENGTH, 'characters'));
  if (!matched) errs.push(DNS1035_LABEL_MSG);
  return errs;
}

/**
 * IsQualifiedName: label keys, annotation keys (after lower-casing, by the caller), finalizers,
 * appProtocol. `lengthInBytes` selects the 1.35+ wording ("bytes", "a valid label key").
 */
export function qualifiedName(value: string, lengthInBytes: boolean): readonly string[] {
  if (validQualifiedNames.has(value)) return NO_ERRORS;
  const errs = qualifiedNameErrors(value, lengthInBytes);
  if (errs.length === 0) validQualifiedNames.add(value);
  return errs;
}

function qualifiedNameErrors(value: string, lengthInBytes: boolean): string[] {
  const parts = value.split('/');
  if (parts.length > 2) return [lengthInBytes ? TOO_MANY_SLASHES_MSG_NEW : TOO_MANY_SLASHES_MSG_OLD];
  const errs: string[] = [];
  const name = parts.at(-1) ?? '';
  if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    if (prefix === '') errs.push(`prefix part ${EMPTY_ERROR}`);
    else errs.push(...subdomain(prefix, byteUnit(lengthInBytes)).map((m) => `prefix part ${m}`));
  }
  const nameBytes = byteLength(name);
  if (nameBytes === 0) errs.push(`name part ${EMPTY_ERROR}`);
  else if (nameBytes > QUALIFIED_NAME_MAX_LENGTH) errs.push(`name part ${maxLenError(QUALIFIED_NAME_MAX_LENGTH, byteUnit(lengthInBytes))}`);
  if (!QUALIFIED_NAME_RE.test(name)) errs.push(NAME_PART_MSG);
  return errs;
}

/** IsValidLabelValue (label values, hints.forZones[].name). The empty string is valid. */
export function labelValue(value: string, lengthInBytes: boolean): readonly string[] {
  if (validLabelValues.has(value)) return NO_ERRORS;
  const errs: string[] = [];
  const matched = LABEL_VALUE_RE.test(value);
  if (lengthIf(matched, value) > LABEL_VALUE_MAX_LENGTH) errs.push(maxLenError(LABEL_VALUE_MAX_LENGTH, byteUnit(lengthInBytes)));
  if (!matched) errs.push(LABEL_VALUE_MSG);
  else if (errs.length === 0) validLabelValues.add(value);
  return errs;
}

/**
 * IsFullyQualifiedDomainName, used for EndpointSlice FQDN addresses. Each entry is one apiserver
 * error: `value` is the bad value it names and `details` its messages, which upstream joins with
 * "," (no space) into one detail text. At most one entry: the first failing stage ends the check.
 *   - "" gives [{ value: '', details: ['Required'] }]: a Required error without detail text.
 *   - one trailing "." is dropped; then the stripped name must be a DNS subdomain; then it needs
 *     two or more labels; then the first label failing the DNS label check is reported by itself.
 */
export function fqdnProblems(value: string): { value: string; details: string[] }[] {
  if (value === '') return [{ value: '', details: ['Required'] }];
  const name = value.endsWith('.') ? value.slice(0, -1) : value;
  const asSubdomain = dnsSubdomain(name);
  if (asSubdomain.length > 0) return [{ value: name, details: [...asSubdomain] }];
  const labels = name.split('.');
  if (labels.length < 2) return [{ value: name, details: [FQDN_SEGMENTS_MSG] }];
  for (const label of labels) {
    const details = dnsLabel(label, true); // a label of a split name has no dots
    if (details.length > 0) return [{ value: label, details }];
  }
  return [];
}

/**
 * metadata.generateName (spec 3.2): upstream masks a trailing "-" by replacing the last two
 * bytes with "a" (dropping the character before the dash too), then checks a DNS subdomain.
 */
export function generateNamePrefix(value: string): readonly string[] {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > 1 && value.endsWith('-')) {
    const masked = Buffer.concat([bytes.subarray(0, bytes.length - 2), Buffer.from('a')]);
    // Cutting inside a multi-byte character leaves bytes that can never match the pattern;
    // the decoded text only feeds the pattern check, so the byte count comes from `masked`.
    return subdomain(masked.toString('utf8'), 'characters', masked.length);
  }
  return dnsSubdomain(value);
}

// Every long detail these validators produce, with a wording that fits a 120-character warning.
// The two combined forms: FQDN joins both subdomain messages into one detail, and qualified names
// prefix the subdomain message.
const SHORT_HINTS: ReadonlyMap<string, string> = new Map([
  [`${maxLenError(DNS1123_SUBDOMAIN_MAX_LENGTH, 'characters')},${DNS1123_SUBDOMAIN_MSG}`,
    "must be <= 253 bytes and an RFC 1123 subdomain: a-z, 0-9, '-', '.'"],
  [`prefix part ${DNS1123_SUBDOMAIN_MSG}`, "prefix part must be an RFC 1123 subdomain (a-z, 0-9, '-', '.')"],
  [DNS1123_SUBDOMAIN_MSG, "must be an RFC 1123 subdomain: a-z, 0-9, '-', '.', alphanumeric ends"],
  [DNS1123_LABEL_MSG, "must be an RFC 1123 label: a-z, 0-9, '-', alphanumeric at both ends"],
  [DNS1035_LABEL_MSG, "must be a DNS-1035 label: a-z, 0-9, '-', start a-z, end alphanumeric"],
  [NAME_PART_MSG, "name part must be A-Z, a-z, 0-9, '-', '_', '.', alphanumeric ends"],
  [TOO_MANY_SLASHES_MSG_NEW, "must be a name with at most one '/' (e.g. 'example.com/MyName')"],
  [TOO_MANY_SLASHES_MSG_OLD, "must be a name with at most one '/' (e.g. 'example.com/MyName')"],
  [LABEL_VALUE_MSG, "must be empty or A-Z, a-z, 0-9, '-', '_', '.', alphanumeric ends"],
]);

/**
 * A short wording (<= 70 characters) for a long detail returned by this module (for FQDN: the
 * details joined with ","), for the 120-character webhook warnings; undefined for details that
 * are already short, such as "must be no more than 63 characters".
 */
export const shortNameHint = (detail: string): string | undefined => SHORT_HINTS.get(detail);
