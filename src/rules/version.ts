// The apiserver's rules changed between releases (spec section 10). A KubeVersion selects them.
export const MIN_MINOR = 24;
export const MAX_MINOR = 36;
export const DEFAULT_KUBERNETES_VERSION = '1.36';

export interface KubeVersion {
  readonly minor: number;
  /** StrictIPCIDRValidation: leading-zero IPv4 and IPv4-mapped IPv6 rejected (default on from 1.36). */
  readonly strictIP: boolean;
  /** KEP-4858: IPv6 slice addresses in canonical form, "must be an IPv4/IPv6 address" checks (1.33+). */
  readonly modernIPChecks: boolean;
  /** Unchanged endpoints/subsets on UPDATE keep passing (1.33+). */
  readonly ratcheting: boolean;
  /** Slice validation order metadata, addressType, ports, endpoints (1.33+; before: endpoints first). */
  readonly portsBeforeEndpoints: boolean;
  /** Length messages of label keys and values say "bytes" (1.35+) instead of "characters". */
  readonly lengthInBytes: boolean;
  /** hints.forZones validated (TopologyAwareHints on; off in the 1.24 the fixtures come from). */
  readonly hintsValidated: boolean;
  /** hints.forNodes exists and is validated (1.33+). */
  readonly forNodes: boolean;
  /** discovery.k8s.io/v1beta1 is served (up to 1.24). */
  readonly v1beta1Served: boolean;
  /** kubectl asks for strict field validation, so unknown fields are rejected (1.25+). */
  readonly strictFields: boolean;
  /** Wording of the annotations size error ("may not be more than" from 1.25 on... see metadata.ts). */
  readonly newTooLongText: boolean;
  /**
   * A DNS label that is a valid subdomain (so wrong only for its dots) gets "must not contain dots"
   * (1.27+); before, the full RFC 1123 label message (apimachinery v0.26 has no such case, v0.27 has).
   */
  readonly labelDotsMessage: boolean;
}

export function parseKubeVersion(text: string): KubeVersion | undefined {
  const m = /^v?1\.(\d+)(?:\.\d+)?$/.exec(text.trim());
  if (!m) return undefined;
  const minor = Number(m[1]);
  if (minor < MIN_MINOR || minor > MAX_MINOR) return undefined;
  return kubeVersion(minor);
}

export function kubeVersion(minor: number): KubeVersion {
  return {
    minor,
    strictIP: minor >= 36,
    modernIPChecks: minor >= 33,
    ratcheting: minor >= 33,
    portsBeforeEndpoints: minor >= 33,
    lengthInBytes: minor >= 35,
    hintsValidated: minor >= 25,
    forNodes: minor >= 33,
    v1beta1Served: minor <= 24,
    strictFields: minor >= 25,
    newTooLongText: minor >= 25,
    labelDotsMessage: minor >= 27,
  };
}

export const formatKubeVersion = (v: KubeVersion): string => `1.${v.minor}`;
