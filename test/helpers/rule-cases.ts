// The rule tables: for every rule, the valid shape, each invalid shape and the boundaries, with the
// number of findings each gets. test/rules.test.ts checks the counts; the admission policy
// agreement tests run the same objects through the policies.
import type { CheckInput } from '../../src/rules/index.ts';
import { kubeVersion } from '../../src/rules/version.ts';
import { endpointsObject, ipv4Addresses, ipv4Endpoints, type Json, slice } from './objects.ts';

export type RuleCase = readonly [name: string, object: Json, rule: string, count: number, over?: Partial<CheckInput>];
const a = (n: number) => 'a'.repeat(n);
const labels = (extra: Record<string, string>) => ({
  'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'team.example.com', ...extra,
});
const meta = (m: Json) => ({ metadata: { namespace: 'default', labels: labels({}), ...m } });
const v = (minor: number): Partial<CheckInput> => ({ version: kubeVersion(minor) });

export const ruleCases: readonly RuleCase[] = [
  // endpoint-limit and endpoint-soft-limit: the boundaries of the apiserver's and the controller's limits
  ['a slice with 999 endpoints passes the hard limit', slice({}, ipv4Endpoints(999)), 'endpoint-limit', 0],
  ['a slice with 1000 endpoints passes the hard limit', slice({}, ipv4Endpoints(1000)), 'endpoint-limit', 0],
  ['a slice with 1001 endpoints gets one error, not 1001', slice({}, ipv4Endpoints(1001)), 'endpoint-limit', 1],
  ['a slice with 100 endpoints is within the default soft limit', slice({}, ipv4Endpoints(100)), 'endpoint-soft-limit', 0],
  ['a slice with 101 endpoints is over the default soft limit', slice({}, ipv4Endpoints(101)), 'endpoint-soft-limit', 1],
  ['the soft limit is configurable', slice({}, ipv4Endpoints(11)), 'endpoint-soft-limit', 1, { softEndpointLimit: 10 }],
  ['over the hard limit the soft limit says nothing', slice({}, ipv4Endpoints(1001)), 'endpoint-soft-limit', 0],
  // address-count
  ['an endpoint with 100 addresses is fine', slice({}, [{ addresses: ipv4Endpoints(100).map((e) => (e.addresses as string[])[0]) }]), 'address-count', 0],
  ['an endpoint with 101 addresses is refused', slice({}, [{ addresses: ipv4Endpoints(101).map((e) => (e.addresses as string[])[0]) }]), 'address-count', 1],
  ['an endpoint without addresses is refused', slice({}, [{ addresses: [] }]), 'address-count', 1],
  // address-type
  ['addressType IPv4 is supported', slice(), 'address-type', 0],
  ['addressType ipv4 (lower case) is not supported', slice({ addressType: 'ipv4' }), 'address-type', 1],
  ['a missing addressType is required', slice({ addressType: undefined }), 'address-type', 1],
  ['addressType cannot change on update', slice({ addressType: 'IPv6' }, [{ addresses: ['2001:db8::1'] }]), 'address-type', 1, { operation: 'UPDATE', oldObject: slice() }],
  // address
  ['a private IPv4 address is fine', slice(), 'address', 0],
  ['an IPv4 loopback address is refused', slice({}, [{ addresses: ['127.0.0.1'] }]), 'address', 1],
  ['an IPv6 address in an IPv4 slice is refused', slice({}, [{ addresses: ['2001:db8::1'] }]), 'address', 1],
  ['IPv4-mapped IPv6 is not IPv6 here', slice({ addressType: 'IPv6' }, [{ addresses: ['::ffff:10.1.2.3'] }]), 'address', 1],
  ['leading zeros are refused by 1.36', slice({}, [{ addresses: ['010.1.2.3'] }]), 'address', 1],
  ['leading zeros pass 1.35 (StrictIPCIDRValidation off)', slice({}, [{ addresses: ['010.1.2.3'] }]), 'address', 0, v(35)],
  ['a non-canonical IPv6 slice address is refused by 1.33+', slice({ addressType: 'IPv6' }, [{ addresses: ['2001:DB8::1'] }]), 'address', 1, v(33)],
  ['a non-canonical IPv6 slice address passes 1.24', slice({ addressType: 'IPv6' }, [{ addresses: ['2001:DB8::1'] }]), 'address', 0, v(24)],
  ['an FQDN slice takes a two-label name', slice({ addressType: 'FQDN' }, [{ addresses: ['backend.example.com'] }]), 'address', 0],
  ['an FQDN slice refuses a single label', slice({ addressType: 'FQDN' }, [{ addresses: ['localhost'] }]), 'address', 1],
  ['an Endpoints ip must be an IP (two apiserver errors)', endpointsObject({}, [{ addresses: [{ ip: 'nope' }], ports: [{ port: 80 }] }]), 'address', 2],
  ['an Endpoints link-local ip is refused', endpointsObject({}, [{ addresses: [{ ip: '169.254.1.1' }], ports: [{ port: 80 }] }]), 'address', 1],
  // special-address, ip-format, mixed-families, duplicate-address
  ['a multicast Endpoints address warns', endpointsObject({}, [{ addresses: [{ ip: '239.1.1.1' }], ports: [{ port: 80 }] }]), 'special-address', 1],
  ['a broadcast slice address warns', slice({}, [{ addresses: ['255.255.255.255'] }]), 'special-address', 1],
  ['link-local multicast is an error, not also a warning', slice({}, [{ addresses: ['224.0.0.1'] }]), 'special-address', 0],
  ['a non-canonical IPv6 Endpoints address warns', endpointsObject({}, [{ addresses: [{ ip: '2001:DB8::1' }], ports: [{ port: 80 }] }]), 'ip-format', 1],
  ['leading zeros warn where 1.35 accepts them', slice({}, [{ addresses: ['010.1.2.3'] }]), 'ip-format', 1, v(35)],
  ['an address the apiserver refuses gets no second word on its format', slice({}, [{ addresses: ['010.1.2.3'] }]), 'ip-format', 0],
  ['a subset mixing IPv4 and IPv6 warns', endpointsObject({}, [{ addresses: [{ ip: '10.1.1.1' }, { ip: '2001:db8::1' }], ports: [{ port: 80 }] }]), 'mixed-families', 1],
  ['a single-family subset does not warn', endpointsObject(), 'mixed-families', 0],
  ['a repeated address within one endpoint warns', slice({}, [{ addresses: ['10.1.1.1', '10.1.1.1'] }]), 'duplicate-address', 1],
  ['the same address in two endpoints warns', slice({}, [{ addresses: ['10.1.1.1'] }, { addresses: ['10.1.1.1'] }]), 'duplicate-address', 1],
  ['a repeated Endpoints ip warns', endpointsObject({}, [{ addresses: [{ ip: '10.1.1.1' }], notReadyAddresses: [{ ip: '10.1.1.1' }], ports: [{ port: 80 }] }]), 'duplicate-address', 1],
  ['the same ip for two pods (targetRef uids) is not a duplicate', endpointsObject({}, [{ addresses: [{ ip: '10.1.1.1', targetRef: { uid: 'a' } }, { ip: '10.1.1.1', targetRef: { uid: 'b' } }], ports: [{ port: 80 }] }]), 'duplicate-address', 0],
  // object-name and endpoints-name
  ['a 253-character name is fine', slice(meta({ name: `web-${a(59)}.${a(63)}.${a(63)}.${a(61)}` })), 'object-name', 0],
  ['a 254-character name is refused', slice(meta({ name: `web-${a(59)}.${a(63)}.${a(63)}.${a(62)}` })), 'object-name', 1],
  ['a name with an underscore is refused', slice(meta({ name: 'web_1' })), 'object-name', 1],
  ['no name and no generateName is refused', slice(meta({})), 'object-name', 1],
  ['generateName alone is fine', slice(meta({ generateName: 'web-' })), 'object-name', 0],
  ['an Endpoints name with dots is no Service name', endpointsObject({ metadata: { name: 'web.example' } }), 'endpoints-name', 1],
  ['an Endpoints name starting with a digit is no Service name', endpointsObject({ metadata: { name: '1web' } }), 'endpoints-name', 1],
  ['an Endpoints name that is a DNS-1035 label is fine', endpointsObject(), 'endpoints-name', 0],
  // object-metadata: label boundaries
  ['a 63-character label value is fine', slice(meta({ name: 'web-1', labels: labels({ team: a(63) }) })), 'object-metadata', 0],
  ['a 64-character label value is refused', slice(meta({ name: 'web-1', labels: labels({ team: a(64) }) })), 'object-metadata', 1],
  ['a 63-character label key name is fine', slice(meta({ name: 'web-1', labels: labels({ [a(63)]: 'x' }) })), 'object-metadata', 0],
  ['a 64-character label key name is refused', slice(meta({ name: 'web-1', labels: labels({ [a(64)]: 'x' }) })), 'object-metadata', 1],
  ['a namespace must be a DNS label', slice({ metadata: { name: 'web-1', namespace: 'Default', labels: labels({}) } }), 'object-metadata', 1],
  ['a finalizer without a domain is refused', slice(meta({ name: 'web-1', finalizers: ['mine'] })), 'object-metadata', 1],
  ['annotations over 256 KiB are refused', slice(meta({ name: 'web-1', annotations: { big: a(262142) } })), 'object-metadata', 1],
  ['annotations of exactly 256 KiB are fine', slice(meta({ name: 'web-1', annotations: { big: a(262141) } })), 'object-metadata', 0],
  // endpoint-fields, hints, zone
  ['a hostname must be a DNS label, even when empty, in a slice', slice({}, [{ addresses: ['10.1.1.1'], hostname: '' }]), 'endpoint-fields', 1],
  ['an empty Endpoints hostname is not checked', endpointsObject({}, [{ addresses: [{ ip: '10.1.1.1', hostname: '' }], ports: [{ port: 80 }] }]), 'endpoint-fields', 0],
  ['a nodeName must be a DNS subdomain', slice({}, [{ addresses: ['10.1.1.1'], nodeName: 'Node_1' }]), 'endpoint-fields', 1],
  ['8 zone hints are fine', slice({}, [{ addresses: ['10.1.1.1'], hints: { forZones: Array.from({ length: 8 }, (_, i) => ({ name: `z${i}` })) } }]), 'hints', 0],
  ['9 zone hints are too many', slice({}, [{ addresses: ['10.1.1.1'], hints: { forZones: Array.from({ length: 9 }, (_, i) => ({ name: `z${i}` })) } }]), 'hints', 1],
  ['duplicate node hints are refused', slice({}, [{ addresses: ['10.1.1.1'], hints: { forNodes: [{ name: 'n1' }, { name: 'n1' }] } }]), 'hints', 1],
  ['hints are not validated by the 1.24 apiserver', slice({}, [{ addresses: ['10.1.1.1'], hints: { forZones: [{ name: 'Bad Zone!' }] } }]), 'hints', 0, v(24)],
  ['a zone that is no label value warns', slice({}, [{ addresses: ['10.1.1.1'], zone: 'Bad Zone!' }]), 'zone', 1],
  // ports and port-number
  ['two unnamed slice ports collide', slice({ ports: [{ port: 80 }, { port: 81 }] }), 'ports', 1],
  ['20000 slice ports are allowed', slice({ ports: Array.from({ length: 20000 }, (_, i) => ({ name: `p${i}`, port: 1 + (i % 65535) })) }), 'ports', 0],
  ['20001 slice ports are too many', slice({ ports: Array.from({ length: 20001 }, (_, i) => ({ name: `p${i}`, port: 1 + (i % 65535) })) }), 'ports', 1],
  ['protocol HTTP is not supported', slice({ ports: [{ name: 'http', protocol: 'HTTP', port: 80 }] }), 'ports', 1],
  ['an empty protocol is refused in a slice', slice({ ports: [{ name: 'http', protocol: '', port: 80 }] }), 'ports', 1],
  ['an empty protocol defaults to TCP in Endpoints', endpointsObject({}, [{ addresses: [{ ip: '10.1.1.1' }], ports: [{ port: 80, protocol: '' }] }]), 'ports', 0],
  ['two Endpoints ports need names', endpointsObject({}, [{ addresses: [{ ip: '10.1.1.1' }], ports: [{ port: 80 }, { port: 81 }] }]), 'ports', 2],
  ['Endpoints port 65536 is out of range', endpointsObject({}, [{ addresses: [{ ip: '10.1.1.1' }], ports: [{ port: 65536 }] }]), 'ports', 1],
  ['Endpoints port 65535 is fine', endpointsObject({}, [{ addresses: [{ ip: '10.1.1.1' }], ports: [{ port: 65535 }] }]), 'ports', 0],
  ['an uppercase appProtocol prefix is refused', slice({ ports: [{ name: 'h', port: 80, appProtocol: 'HTTP/2' }] }), 'ports', 1],
  ['slice port 0 warns (the apiserver does not check)', slice({ ports: [{ name: 'h', port: 0 }] }), 'port-number', 1],
  ['slice port 65536 warns', slice({ ports: [{ name: 'h', port: 65536 }] }), 'port-number', 1],
  ['slice port 65535 is fine', slice({ ports: [{ name: 'h', port: 65535 }] }), 'port-number', 0],
  // subset-addresses and mirror-limit
  ['a subset with only ports is refused', endpointsObject({}, [{ ports: [{ port: 80 }] }]), 'subset-addresses', 1],
  ['1000 addresses in a subset are all mirrored', endpointsObject({}, [{ addresses: ipv4Addresses(1000), ports: [{ port: 80 }] }]), 'mirror-limit', 0],
  ['1001 addresses in a subset are not all mirrored', endpointsObject({}, [{ addresses: ipv4Addresses(600), notReadyAddresses: ipv4Addresses(1001).slice(600), ports: [{ port: 80 }] }]), 'mirror-limit', 1],
  // managed-by, service-name, slice-name-prefix, fqdn, deprecation
  ['a slice without managed-by warns', slice(meta({ name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } })), 'managed-by-missing', 1],
  ["a person writing the controller's managed-by value is an error", slice(meta({ name: 'web-1', labels: labels({ 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' }) })), 'managed-by-controller', 1, { username: 'alice' }],
  ['the controller writing its own value is fine', slice(meta({ name: 'web-1', labels: labels({ 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' }) })), 'managed-by-controller', 0, { username: 'system:serviceaccount:kube-system:endpointslice-controller' }],
  ["the mirroring controller's value from another controller is an error", slice(meta({ name: 'web-1', labels: labels({ 'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io' }) })), 'managed-by-controller', 1, { username: 'system:serviceaccount:kube-system:endpointslice-controller' }],
  ['a slice without service-name warns', slice(meta({ name: 'web-1', labels: { 'endpointslice.kubernetes.io/managed-by': 'x' } })), 'service-name-missing', 1],
  ["a slice named after another Service warns", slice(meta({ name: 'api-1', labels: labels({}) })), 'slice-name-prefix', 1],
  ['a generateName with the Service prefix is fine', slice(meta({ generateName: 'web-', labels: labels({}) })), 'slice-name-prefix', 0],
  ['an FQDN slice warns that kube-proxy ignores it', slice({ addressType: 'FQDN' }, [{ addresses: ['a.example.com'] }]), 'fqdn-address-type', 1],
  ['every Endpoints write warns of the deprecation', endpointsObject(), 'endpoints-deprecated', 1],
  ['an Endpoints update warns too', endpointsObject(), 'endpoints-deprecated', 1, { operation: 'UPDATE', oldObject: endpointsObject() }],
  // api versions, unknown fields, field types
  ['a v1beta1 manifest is refused by 1.25+', slice({ apiVersion: 'discovery.k8s.io/v1beta1' }), 'api-version', 1, v(25)],
  ['a v1beta1 manifest only warns on 1.24', slice({ apiVersion: 'discovery.k8s.io/v1beta1' }), 'api-version-deprecated', 1, v(24)],
  ['a v1beta1 manifest is served by 1.24', slice({ apiVersion: 'discovery.k8s.io/v1beta1' }), 'api-version', 0, v(24)],
  ['a slice version that never existed is refused', slice({ apiVersion: 'discovery.k8s.io/v2' }), 'api-version', 1],
  ['an Endpoints version other than v1 is refused', endpointsObject({ apiVersion: 'core/v1' }), 'api-version', 1],
  ['a discovery.k8s.io/v1 slice is served', slice(), 'api-version', 0],
  ['a v1beta1 request converted to v1 warns', slice(), 'api-version-deprecated', 1, { requestApiVersion: 'discovery.k8s.io/v1beta1' }],
  ['an unknown field is refused', slice({ spec: {} }), 'unknown-field', 1],
  ['a port of 80.5 cannot be decoded', slice({ ports: [{ name: 'h', port: 80.5 }] }), 'field-type', 1],
  ['a port past int32 cannot be decoded', slice({ ports: [{ name: 'h', port: 2 ** 31 }] }), 'field-type', 1],
  ['a label with a number value cannot be decoded', slice(meta({ name: 'web-1', labels: { version: 1 } })), 'field-type', 1],
];
