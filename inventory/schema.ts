import { z } from 'zod';
import { InventoryError } from '../framework/cluster.js';
import { isAgeRecipient, isDnsLabel, isDnsName } from '../framework/rules/network.js';
import { crossCheck } from './checks.js';
import { checkExamples, examplesIn, type InventoryExample } from './examples.js';
import { always, flag, integer, list, matching, oneOf, record, text } from './fields.js';
import { formatPath, inventoryIssues, issuePaths, parsePath, withoutReported } from './issues.js';
import { cidrProblem, familyOf, parseAddress, subnetOf } from './network.js';
import { filled } from './schema-walk.js';
import { storageFacts, storageModel } from './storage.js';

/**
 * Facts about one cluster, read from `inventory/<cluster>.json`. The NixOS modules read the same
 * file (`nixos/lib/cluster.nix`, with `builtins.fromJSON`), so it stays plain JSON; the JSON
 * Schema editors check it with is generated from these schemas (`inventory/schema/`). Fields only
 * the hosts use (interfaces, gateways, resolvers, SSH keys, cluster DNS IPs, node CIDR sizes) are
 * checked here too, so a typo fails `synth` before it reaches a NixOS build.
 */

const dnsName = (value: string) => (isDnsName(value) ? undefined : 'is not a valid lowercase DNS name');
const dnsLabel = (value: string) => (isDnsLabel(value) ? undefined : 'is not a valid DNS-1123 label');
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const email = (value: string) => (EMAIL.test(value) ? undefined : 'is not an e-mail address');
const httpsUrl = (value: string) => {
  try {
    return new URL(value).protocol === 'https:' ? undefined : 'must be an https:// URL';
  } catch {
    return 'is not a URL';
  }
};
const ageRecipient = (value: string) => {
  if (/^AGE-SECRET-KEY-/i.test(value)) return 'is an age PRIVATE key: give the public key (age-keygen -y keys.txt) and discard this one';
  return isAgeRecipient(value)
    ? undefined
    : 'is not an age public key (age1 followed by 58 bech32 characters whose checksum holds): copy it again from age-keygen -y';
};
const ipv4 = (value: string) => (familyOf(value) === 'ipv4' ? undefined : 'is not an IPv4 address');
const ipv6 = (value: string) => (familyOf(value) === 'ipv6' ? undefined : 'is not an IPv6 address');
const anyIp = (value: string) => (familyOf(value) !== undefined ? undefined : 'is not an IP address');
const ipv4Cidr = (value: string) => cidrProblem(value) ?? (subnetOf(value)?.family === 'ipv4' ? undefined : 'is not an IPv4 CIDR');
/** The CNIs the hosts are set up for: their modules turn off flannel and kube-proxy and expect Cilium in their place. */
const SUPPORTED_CNIS = ['cilium'] as const;
const supportedCni = (value: string) =>
  (SUPPORTED_CNIS as readonly string[]).includes(value)
    ? undefined
    : `is not a supported CNI (supported: ${SUPPORTED_CNIS.join(', ')}): the NixOS hosts turn off flannel and kube-proxy and expect Cilium in their place`;
const HOST_ROLES = ['control-plane', 'worker', 'etcd'] as const;
const vaultPath = () => matching(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, 'is not a Vault path (segments separated by "/")');
const port = () => integer(1, 65535);

const host = record({
  name: text(dnsLabel),
  fqdn: text(dnsName),
  ipv4: text(ipv4),
  ipv6: text(ipv6),
  interface: matching(/^[A-Za-z0-9_.-]{1,15}$/, 'is not a network interface name (1-15 letters, digits, ".", "-", "_")').describe(
    'Network interface that carries ipv4 and ipv6, e.g. eno1.',
  ),
  roles: list(oneOf(HOST_ROLES, `a role (${HOST_ROLES.join(', ')})`)),
});

const kubernetes = record({
  clusterDomain: text(dnsName),
  podCidrs: list(text(cidrProblem)),
  serviceCidrs: list(text(cidrProblem)),
  apiServiceIps: list(text(anyIp)),
  apiServer: record({ host: text(dnsName), port: port() }),
  dnsServiceIps: list(text(anyIp)).describe(
    'Service IPs of the cluster DNS (kubelet clusterDNS); each lies in a service CIDR of its family.',
  ),
  nodeCidrMaskSizes: record({ ipv4: integer(1, 32), ipv6: integer(1, 128) }).describe(
    "Prefix length of the pod CIDR each node gets (kube-controller-manager --node-cidr-mask-size-ipv4/-ipv6): at least the pod CIDR's prefix, at most 16 bits longer.",
  ),
});

const ipv6Cidr = (value: string) => cidrProblem(value) ?? (subnetOf(value)?.family === 'ipv6' ? undefined : 'is not an IPv6 CIDR');
/** 4-byte ASNs (RFC 6793), without 0 and AS_TRANS (23456), which no session may use. */
const asn = () =>
  integer(1, 4294967295).refine((value) => value !== 23456, { message: 'is AS_TRANS (23456), which no BGP speaker may use as its ASN' });
const FAMILY_VALUES = ['ipv4', 'ipv6'] as const;
/** An address block of a pool: a CIDR, or a range `first-last` of one family. */
const addressBlock = (value: string) => {
  if (value.includes('/')) return cidrProblem(value);
  const [first, last, ...rest] = value.split('-');
  const a = parseAddress(first ?? '');
  const b = parseAddress(last ?? '');
  if (rest.length > 0 || !a || !b) return 'is neither a CIDR nor a range "<first address>-<last address>"';
  if (a.family !== b.family) return 'mixes an IPv4 and an IPv6 address';
  return a.value <= b.value ? undefined : 'starts after it ends';
};
const labelMap = () => z.record(z.string(), z.string()).describe('Kubernetes labels (key: value).');

const bgpTimers = record({
  connectRetrySeconds: integer(1, 2147483647),
  holdTimeSeconds: integer(3, 65535),
  keepAliveSeconds: integer(1, 65535),
}).describe("BGP timers of the peer's sessions (Cilium's defaults: 120, 90 and 30 s).");

const bgp = record({
  asn: asn().describe(
    "The cluster's ASN: every node speaks BGP with it (a private ASN, 64512-65534 or 4200000000-4294967294, unless you own one).",
  ),
  peers: list(
    record({
      name: text(dnsLabel).describe('Names the peer in the BGP objects (a DNS-1123 label).'),
      address: text(anyIp).describe("The peer's address (the router), reached from every node."),
      asn: asn().describe("The peer's ASN."),
      families: list(oneOf(FAMILY_VALUES, 'an address family (ipv4, ipv6)'))
        .optional()
        .describe('Address families exchanged on the session (unicast). @default the family of address'),
      password: flag()
        .optional()
        .describe('Whether the session has a TCP MD5 password, in secrets/<cluster>/cilium/bgp-<name>-password.sops.yaml (key password).'),
      timers: bgpTimers.optional(),
      ebgpMultihop: integer(1, 255).optional().describe('TTL of eBGP packets, for a peer more than one hop away. @default 1'),
    }),
  ),
}).describe('BGP peering of the nodes (Cilium BGP control plane): LoadBalancer addresses and pod CIDRs are announced to the peers.');

const loadBalancer = record({
  pools: list(
    record({
      name: text(dnsLabel),
      blocks: list(text(addressBlock)).describe('CIDRs or ranges "first-last" Services get addresses from; may mix families.'),
      serviceSelector: labelMap()
        .optional()
        .describe(
          'Labels a Service needs to get an address of this pool (also io.kubernetes.service.namespace and .name). @default every Service',
        ),
    }),
  ),
  services: z
    .record(
      z.string(),
      record({
        addresses: list(text(anyIp)).describe('The addresses the Service requests (lbipam.cilium.io/ips).'),
        sharingKey: text()
          .optional()
          .describe('Services with one sharing key may share addresses (lbipam.cilium.io/sharing-key), on distinct ports.'),
      }),
    )
    .superRefine((services, ctx) => {
      for (const key of Object.keys(services)) {
        const [namespace, name, ...rest] = key.split('/');
        if (rest.length > 0 || !isDnsLabel(namespace ?? '') || !isDnsLabel(name ?? ''))
          ctx.addIssue({ code: 'custom', path: [key], message: 'is not namespace/name (e.g. traefik/traefik-ipv4)' });
      }
    })
    .optional()
    .describe('Fixed addresses of LoadBalancer Services, by namespace/name, so that DNS records can point at them.'),
}).describe('LoadBalancer addresses (Cilium LB-IPAM): the pools, and which Services get which addresses.');

const network = record({
  cni: text(supportedCni),
  ipv4NativeRoutingCidr: text(ipv4Cidr),
  ipv6NativeRoutingCidr: text(ipv6Cidr).describe('IPv6 range routed without masquerading (native routing): contains the IPv6 pod CIDR.'),
  mtu: integer(1280, 9216),
  prefixLengths: record({ ipv4: integer(1, 32), ipv6: integer(1, 128) }).describe(
    "Prefix lengths of the hosts' subnets (the hosts' ipv4/ipv6 are configured with them).",
  ),
  gateways: record({ ipv4: text(ipv4), ipv6: text(ipv6) }).describe(
    "Default gateways of the hosts, inside every host's subnet (IPv6 may also be link-local).",
  ),
  nameservers: list(text(anyIp)).describe('DNS resolvers of the hosts.'),
  bgp: bgp.optional(),
  loadBalancer: loadBalancer.optional(),
});

/** The inventory as its JSON says it, `name` checked against the file name when one is given. */
function facts(expectedName?: string) {
  return record({
    $schema: z.string().optional().describe('The JSON Schema of this file, for editors.'),
    name: text(
      (value) =>
        dnsLabel(value) ??
        (expectedName !== undefined && value !== expectedName ? `must match the file name "${expectedName}"` : undefined),
    ),
    domain: record({
      base: text(dnsName).describe('Base domain, e.g. example.org.'),
      cluster: text(dnsName).describe('Domain of cluster-scoped hosts, e.g. k8s.example.org.'),
      site: text(dnsName).describe("Domain of the site's machines."),
    }),
    kubernetes,
    hosts: list(host),
    network,
    vault: record({
      address: text(httpsUrl),
      pkiMounts: record({ kubernetes: vaultPath(), etcd: vaultPath(), frontProxy: vaultPath() }),
      serviceAccountKeyPath: vaultPath(),
    }),
    gitops: record({
      repoURL: text(httpsUrl),
      targetRevision: text(),
      url: text(httpsUrl),
      sopsAgeRecipient: text(ageRecipient).describe(
        'Public half of the age key ArgoCD (KSOPS) decrypts with: every SOPS file must be encrypted for it.',
      ),
    }),
    sso: record({
      oidcIssuerUrl: text(httpsUrl),
      allowedEmails: list(text(email)),
      gitlabApplicationId: text().describe("Application ID of the GitLab OAuth application ArgoCD's Dex signs in with (not a secret)."),
      operatorGroups: list(
        matching(/^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/, 'is not a GitLab group path'),
      ).describe('GitLab groups (full paths, as Dex reports membership) whose members may sign in to ArgoCD with its operators role.'),
    }),
    acme: record({ email: text(email), dnsZones: list(text(dnsName)) }),
    storage: storageFacts,
    monitoring: record({
      prometheus: record({
        retention: matching(/^([0-9]+[ywdhms])+$/, 'is not a Prometheus duration (e.g. 15d, 2w)').describe(
          'How long Prometheus keeps samples.',
        ),
        retentionSize: matching(/^[0-9]+(\.[0-9]+)?(B|KB|MB|GB|TB)$/, 'is not a Prometheus size (e.g. 45GB)')
          .optional()
          .describe('The most the TSDB may use; keep it below storageSize.'),
        storageClass: text(dnsName).describe('StorageClass of the TSDB claims: a block (iSCSI) class of storage.drivers, never NFS.'),
        storageSize: matching(/^[0-9]+(Ki|Mi|Gi|Ti)$/, 'is not a size such as 50Gi').describe('Size of each replica claim.'),
      }),
      grafana: record({
        gitlabApplicationId: text().describe(
          'Application ID of the GitLab OAuth application Grafana signs in with (callback https://monitoring.<domain.base>/login/gitlab, scopes openid email profile; not a secret).',
        ),
      }),
      discord: record({
        image: matching(
          /^[a-z0-9./_-]+@sha256:[a-f0-9]{64}$/,
          'is not an image pinned by digest (benjojo/alertmanager-discord@sha256:<64 hex digits>)',
        ).describe('The alertmanager-discord bridge image by digest: its project publishes only the latest tag.'),
      }),
      matrix: record({
        homeserverUrl: text(httpsUrl).describe('The Matrix homeserver alerts are posted through.'),
        user: matching(/^@[^:\s]+:\S+$/, 'is not a Matrix user id (@name:server)').describe('The bot user that posts alerts.'),
        room: matching(/^[!#][^:\s|]+:[^\s|]+$/, 'is not a Matrix room id or alias (!id:server)').describe(
          'The room alerts are posted to.',
        ),
      }),
    })
      .optional()
      .describe('Monitoring (kube-prometheus) and where its alerts go; the monitoring app needs it.'),
    ssh: record({
      authorizedKeys: list(
        matching(
          /^(ssh-[a-z0-9-]+|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9-]+@openssh\.com) [A-Za-z0-9+/]+={0,2}( \S.*)?$/,
          'is not an SSH public key ("<type> <base64> [comment]")',
        ),
        0,
      ).describe('Public keys allowed to log in to the hosts as root. May be empty (the NixOS build then warns).'),
    }),
    examples: z
      .record(z.string(), z.string({ error: 'must say what replaces the example value (a non-empty string)' }).meta({ minLength: 1 }), {
        error: 'must be an object of field paths to what replaces them',
      })
      .optional()
      .describe(
        'The one place that marks example values: each field (a path such as acme.email) that still holds a placeholder, with what to put there. Synth lists them; --production refuses them.',
      ),
  });
}

/** The inventory as its JSON says it. */
export type InventoryFacts = z.output<ReturnType<typeof facts>>;
export type HostRole = (typeof HOST_ROLES)[number];

/**
 * The schema of an inventory: its fields, then the checks between them (which run on whatever
 * fields are valid, so one run reports every problem), then the model apps build from. Example
 * values are resolved against the facts as written, since their paths are the file's.
 */
export function clusterInventorySchema(expectedName?: string) {
  const fields = facts(expectedName);
  return fields
    .superRefine(
      (value, ctx) => {
        const report = ({ path, message }: { path: string; message: string }) =>
          ctx.addIssue({ code: 'custom', path: parsePath(path), message });
        checkExamples(value, ctx.issues.flatMap(issuePaths).map(formatPath), report);
        crossCheck(filled(fields, withoutReported(value, ctx.issues)) as InventoryFacts, report);
      },
      { when: always },
    )
    .transform(({ $schema: _editorsOnly, storage, examples, ...rest }) => ({
      ...rest,
      storage: storageModel(storage),
      /** The fields that still hold placeholders, with their values and what replaces them. Synth lists them; --production refuses them. */
      examples: examplesIn({ ...rest, storage }, examples),
    }));
}

/** The schema of every inventory: what the JSON Schema is generated from. */
export const ClusterInventorySchema = clusterInventorySchema();

/** The inventory as apps build from it: its facts, the storage drivers in the construct's model, the example values resolved. */
export type ClusterInventory = z.output<typeof ClusterInventorySchema>;
export type HostInventory = ClusterInventory['hosts'][number];
export type StorageInventory = ClusterInventory['storage'];
export type StorageDriverInventory = NonNullable<StorageInventory['drivers']>[number];
export type { InventoryExample };

/** Parses and checks an inventory; throws InventoryError listing every problem found, each at its JSON path. */
export function parseInventory(data: unknown, expectedName?: string): ClusterInventory {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new InventoryError([{ path: '(root)', message: 'the inventory must be a JSON object' }]);
  }
  const schema = clusterInventorySchema(expectedName);
  // Parsed once per run: compiling zod's fast path (jit) would cost more than it saves.
  const result = schema.safeParse(data, { jitless: true });
  if (!result.success) throw new InventoryError(inventoryIssues(result.error.issues, schema));
  return result.data;
}
